#include "agent/host/discover.h"

#include "base/sysfs_root.h"
#include "cpu/hwloc_topology.h"
#include "hugepages/hugepage_reader.h"
#include "numa/numa_reader.h"
#include "realtime/realtime.h"

namespace kvhost {
namespace {

// nr_cpu_ids as the kernel counts it, to resolve "N" in command-line cpulists.
unsigned NrCpuIds(const SysfsRoot& root, const CpuTopology& cpu) {
  if (auto possible = root.ReadCpuListOptional("sys/devices/system/cpu/possible");
      possible && !possible->Empty())
    return static_cast<unsigned>(possible->Last()) + 1;
  int last = (cpu.online | cpu.offline).Last();
  return last < 0 ? 0 : static_cast<unsigned>(last) + 1;
}

}  // namespace

HostModel DiscoverHost(const std::filesystem::path& root_dir) {
  const SysfsRoot root(root_dir);
  // Listed before hwloc runs (the listing cannot throw): a cpuN entry proves the
  // directory exists, so the existence check, one syscall more, runs only without one.
  const std::vector<unsigned> cpu_dirs = root.ListNumbered("sys/devices/system/cpu", "cpu");
  if (cpu_dirs.empty() && !root.Exists("sys/devices/system/cpu"))
    throw InputError(root.PathOf("sys/devices/system/cpu"), "missing: not a Linux root");
  HostModel host;
  host.root = root_dir;

  HwlocView hw = HwlocTopology::Load(root_dir).Extract();
  host.cpu = std::move(hw.cpu);
  for (unsigned id : cpu_dirs)
    if (!host.cpu.online.Contains(id)) host.cpu.offline.Add(id);

  host.numa = ReadNumaTopology(root, hw.numa_nodes, host.cpu.online, host.warnings);
  std::vector<unsigned> node_ids;
  for (const auto& n : host.numa.nodes) node_ids.push_back(n.id);
  host.hugepages = ReadHugepages(root, node_ids, host.warnings);
  host.isolation = ReadIsolation(root, NrCpuIds(root, host.cpu), host.warnings);
  host.realtime = ReadRealtime(root, host.isolation.isolated & host.cpu.online);
  return host;
}

}  // namespace kvhost
