#include "agent/host/discover.h"

#include "base/sysfs_root.h"
#include "cpu/hwloc_topology.h"
#include "hugepages/hugepage_reader.h"
#include "numa/numa_reader.h"
#include "realtime/realtime.h"

namespace kvhost {
namespace {

// hwloc reads a garbage or empty cpu/online as "CPU 0 only" and carries on;
// a one-CPU host would then be advertised. The boot CPU is always online.
void RequireOnlineCpus(const SysfsRoot& root) {
  constexpr std::string_view kOnline = "sys/devices/system/cpu/online";
  if (auto online = root.ReadCpuListOptional(kOnline); online && online->Empty())
    throw InputError(root.PathOf(kOnline), "lists no CPU (the boot CPU is always online)");
}

}  // namespace

void RequireHugepagesWithinNodeMemory(const SysfsRoot& root, const NumaTopology& numa,
                                      const HugepageInventory& hugepages) {
  for (const auto& [node_id, pools] : hugepages.per_node) {
    const NumaNode* node = numa.Find(node_id);
    if (!node) continue;
    for (const HugepagePool& pool : pools) {
      const uint64_t fits = node->memory_kib / pool.size_kib;
      const std::string dir = "sys/devices/system/node/node" + std::to_string(node_id) +
                              "/hugepages/hugepages-" + std::to_string(pool.size_kib) + "kB/";
      for (const auto& [file, pages] :
           {std::pair<const char*, uint64_t>{"nr_hugepages", pool.total},
            {"free_hugepages", pool.free}})
        if (pages > fits)
          throw InputError(root.PathOf(dir + file),
                           std::to_string(pages) + " pages of " + std::to_string(pool.size_kib) +
                               " kB do not fit in the node's MemTotal of " +
                               std::to_string(node->memory_kib) + " kB");
    }
  }
}

unsigned NrCpuIds(const SysfsRoot& root, const CpuTopology& cpu) {
  if (auto possible = root.ReadCpuListOptional("sys/devices/system/cpu/possible");
      possible && !possible->Empty())
    return static_cast<unsigned>(possible->Last()) + 1;
  int last = (cpu.online | cpu.offline).Last();
  return last < 0 ? 0 : static_cast<unsigned>(last) + 1;
}

HostModel DiscoverHost(const std::filesystem::path& root_dir) {
  HostModel host;
  host.root = HostRoot(root_dir);
  const SysfsRoot root = host.root.Sysfs();
  // Listed before hwloc runs (the listing cannot throw): a cpuN entry proves the
  // directory exists, so the existence check, one syscall more, runs only without one.
  const std::vector<unsigned> cpu_dirs = root.ListNumbered("sys/devices/system/cpu", "cpu");
  if (cpu_dirs.empty() && !root.Exists("sys/devices/system/cpu"))
    throw InputError(root.PathOf("sys/devices/system/cpu"), "missing: not a Linux root");
  RequireOnlineCpus(root);

  HwlocView hw = HwlocTopology::Load(host.root).Extract();
  host.cpu = std::move(hw.cpu);
  for (unsigned id : cpu_dirs)
    if (!host.cpu.online.Contains(id)) host.cpu.offline.Add(id);

  host.numa = ReadNumaTopology(root, hw.numa_nodes, host.cpu.online, host.warnings);
  std::vector<unsigned> node_ids;
  for (const auto& n : host.numa.nodes) node_ids.push_back(n.id);
  host.hugepages = ReadHugepages(root, node_ids);
  RequireHugepagesWithinNodeMemory(root, host.numa, host.hugepages);
  host.isolation = ReadIsolation(root, NrCpuIds(root, host.cpu), host.warnings);
  host.realtime = ReadRealtime(root, host.isolation.isolated & host.cpu.online);
  return host;
}

}  // namespace kvhost
