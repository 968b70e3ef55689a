#include "agent/host/host_refresh.h"

#include "agent/host/discover.h"
#include "base/sysfs_root.h"
#include "hugepages/hugepage_reader.h"
#include "numa/numa_reader.h"
#include "realtime/realtime.h"

namespace kvhost {

HostRefresh RefreshVolatileFacts(HostModel& host, std::string* hotplug_why) {
  const SysfsRoot root = host.root.Sysfs();
  const auto online = root.ReadCpuListOptional("sys/devices/system/cpu/online");
  std::string moved;
  if (online && !(*online == host.cpu.online))
    moved = "online CPUs " + online->ToList() + " (were " + host.cpu.online.ToList() + ")";
  else
    moved = NumaMemoryChange(root, host.numa);
  if (!moved.empty()) {
    if (hotplug_why) *hotplug_why = std::move(moved);
    return HostRefresh::kHotplug;
  }
  // Discovery's reader and checks: a count discovery refuses is refused here,
  // before anything of the model changes.
  HugepageInventory hugepages = RereadHugepageCounts(root, host.hugepages);
  RequireHugepagesWithinNodeMemory(root, host.numa, hugepages);
  Isolation isolation = RereadIsolation(root, host.isolation);
  const bool isolation_changed = isolation.sysfs_isolated != host.isolation.sysfs_isolated;
  if (!isolation_changed && hugepages == host.hugepages) return HostRefresh::kUnchanged;
  // The isolated_cpus fact and the governors it checks follow the isolated set.
  if (isolation_changed) host.realtime = ReadRealtime(root, isolation.isolated & host.cpu.online);
  host.hugepages = std::move(hugepages);
  host.isolation = std::move(isolation);
  return HostRefresh::kChanged;
}

}  // namespace kvhost
