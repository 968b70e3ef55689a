#include "numa/numa_reader.h"

#include <algorithm>
#include <sstream>

namespace kvhost {
namespace {

constexpr std::string_view kNodeDir = "sys/devices/system/node";

std::string NodeFile(unsigned id, std::string_view file) {
  return std::string(kNodeDir) + "/node" + std::to_string(id) + "/" + std::string(file);
}

// "Node 0 MemTotal:       32372996 kB"
std::optional<uint64_t> ReadNodeMemTotal(const SysfsRoot& root, unsigned id) {
  const std::string rel = NodeFile(id, "meminfo");
  auto text = root.ReadOptional(rel);
  if (!text) return std::nullopt;
  size_t pos = text->find("MemTotal:");
  if (pos == std::string::npos) throw InputError(root.PathOf(rel), "no MemTotal line (truncated?)");
  std::istringstream in(text->substr(pos + 9));
  int64_t kib = -1;
  std::string unit;
  if (!(in >> kib >> unit) || kib < 0 || unit != "kB")
    throw InputError(root.PathOf(rel), "MemTotal is not '<number> kB'");
  return static_cast<uint64_t>(kib);
}

// One SLIT row: a distance to each node the kernel lists, this one included.
std::vector<unsigned> ReadDistances(const SysfsRoot& root, unsigned id, size_t node_count) {
  const std::string rel = NodeFile(id, "distance");
  std::vector<unsigned> row;
  auto text = root.ReadOptional(rel);
  if (!text) return row;
  if (text->empty()) throw InputError(root.PathOf(rel), "empty: expected one distance per node");
  std::istringstream in(*text);
  std::string word;
  while (in >> word) {
    auto v = ParseInt(word);
    if (!v || *v <= 0 || *v > 255)
      throw InputError(root.PathOf(rel), "'" + word + "' is not a distance (1..255)");
    row.push_back(static_cast<unsigned>(*v));
  }
  if (row.size() != node_count)
    throw InputError(root.PathOf(rel), std::to_string(row.size()) + " distances for " +
                                           std::to_string(node_count) + " nodes");
  return row;
}

}  // namespace

NumaTopology ReadNumaTopology(const SysfsRoot& root, const std::vector<HwlocNumaNode>& hwloc_nodes,
                              const CpuSet& online, std::vector<std::string>& warnings) {
  NumaTopology topo;
  const std::vector<unsigned> sysfs_ids = root.ListNumbered(kNodeDir, "node");
  const auto kernel_max = root.ReadIntOptional("sys/devices/system/cpu/kernel_max");
  if (kernel_max && *kernel_max < 0)
    throw InputError(root.PathOf("sys/devices/system/cpu/kernel_max"),
                     "negative (" + std::to_string(*kernel_max) + "): the highest CPU id is >= 0");

  CpuSet claimed;
  for (const auto& hw : hwloc_nodes) {
    NumaNode node;
    node.id = hw.id;
    const bool has_dir = std::binary_search(sysfs_ids.begin(), sysfs_ids.end(), hw.id);
    std::optional<CpuSet> cpus;
    if (has_dir)
      cpus = root.ReadCpuListOrMask(NodeFile(hw.id, "cpulist"), NodeFile(hw.id, "cpumap"));
    if (cpus) {
      if (kernel_max && cpus->Last() > *kernel_max)
        throw InputError(root.PathOf(NodeFile(hw.id, "cpulist")),
                         "CPU " + std::to_string(cpus->Last()) + " is beyond kernel_max " +
                             std::to_string(*kernel_max));
      node.cpus = *cpus & online;
    } else {
      // No node directories at all (tiny ARM boards): hwloc's single node has every CPU.
      node.cpus = hw.cpus;
      if (has_dir)
        warnings.push_back(root.PathOf(NodeFile(hw.id, "cpulist")).string() +
                           ": missing (and no cpumap); took the node's CPUs from hwloc");
    }
    if (node.cpus.Intersects(claimed)) {
      warnings.push_back("node" + std::to_string(hw.id) + " claims CPUs " +
                         (node.cpus & claimed).ToList() +
                         " that a lower node already has; kept them on the lower node");
      node.cpus -= claimed;
    }
    claimed |= node.cpus;
    node.memory_kib =
        (has_dir ? ReadNodeMemTotal(root, hw.id) : std::nullopt).value_or(hw.memory_kib);
    if (has_dir) node.distances = ReadDistances(root, hw.id, sysfs_ids.size());
    topo.nodes.push_back(std::move(node));
  }
  for (unsigned id : sysfs_ids)
    if (!topo.Find(id))
      warnings.push_back(
          "node" + std::to_string(id) +
          " has a sysfs directory but hwloc merged or dropped it (firmware NUMA table)");
  topo.cpus_without_node = online - claimed;
  if (!topo.cpus_without_node.Empty())
    warnings.push_back("online CPUs " + topo.cpus_without_node.ToList() +
                       " belong to no NUMA node");
  return topo;
}

}  // namespace kvhost
