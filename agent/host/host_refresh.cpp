#include "agent/host/host_refresh.h"

#include "agent/host/discover.h"
#include "base/sysfs_root.h"
#include "hugepages/hugepage_reader.h"
#include "realtime/realtime.h"

namespace kvhost {

HostRefresh RefreshVolatileFacts(HostModel& host) {
  const SysfsRoot root(host.root);
  const auto online = root.ReadCpuListOptional("sys/devices/system/cpu/online");
  if (online && !(*online == host.cpu.online)) return HostRefresh::kHotplug;
  std::vector<std::string> warnings;
  std::vector<unsigned> node_ids;
  for (const auto& n : host.numa.nodes) node_ids.push_back(n.id);
  host.hugepages = ReadHugepages(root, node_ids, warnings);
  host.isolation = ReadIsolation(root, NrCpuIds(root, host.cpu), warnings);
  host.realtime = ReadRealtime(root, host.isolation.isolated & host.cpu.online);
  return HostRefresh::kRefreshed;
}

}  // namespace kvhost
