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

// The kernel's MAX_NUMNODES is at most 1 << 10 (NODES_SHIFT <= 10): a cpuN/nodeM
// name beyond it is no node, and must not size a set.
constexpr unsigned kMaxNodeId = 1u << 10;

// The node ids a SLIT row's columns can stand for. The kernel prints one
// distance per online node (a node directory), but a dump whose online set was
// changed after the rows were taken keeps one per possible node. The possible
// ids are read only for such a row, once per root.
class DistanceColumns {
 public:
  DistanceColumns(const SysfsRoot& root, const std::vector<unsigned>& online)
      : root_(root), online_(online) {}
  const std::vector<unsigned>& online() const { return online_; }

  // node/possible; without it the online nodes and those the cpuN/nodeM links name.
  const CpuSet& possible() {
    if (possible_) return *possible_;
    possible_ = root_.ReadCpuListOptional(std::string(kNodeDir) + "/possible");
    if (possible_) return *possible_;
    possible_.emplace();
    for (unsigned id : online_) possible_->Add(id);
    const std::string cpu_dir = "sys/devices/system/cpu";
    for (unsigned cpu : root_.ListNumbered(cpu_dir, "cpu"))
      for (unsigned id : root_.ListNumbered(cpu_dir + "/cpu" + std::to_string(cpu), "node"))
        if (id < kMaxNodeId) possible_->Add(id);
    return *possible_;
  }

 private:
  const SysfsRoot& root_;
  const std::vector<unsigned>& online_;
  std::optional<CpuSet> possible_;
};

// A row of one distance per possible node, cut down to the online nodes'
// columns; empty (with a warning) when an online node is not a possible one.
std::vector<unsigned> OnlineColumns(const std::vector<unsigned>& row, DistanceColumns& columns,
                                    const std::string& path, std::vector<std::string>& warnings) {
  const std::vector<unsigned> possible = columns.possible().Ids();
  const std::string counts = path + ": " + std::to_string(row.size()) + " distances, one per " +
                             "possible node (" + columns.possible().ToList() + ")";
  std::vector<unsigned> online_row;
  for (unsigned id : columns.online()) {
    auto column = std::lower_bound(possible.begin(), possible.end(), id);
    if (column == possible.end() || *column != id) {
      warnings.push_back(counts + ", but online node" + std::to_string(id) +
                         " is not among them; left this node's distances out");
      return {};
    }
    online_row.push_back(row[static_cast<size_t>(column - possible.begin())]);
  }
  std::string online_ids;
  for (unsigned id : columns.online())
    online_ids += (online_ids.empty() ? "" : ",") + std::to_string(id);
  warnings.push_back(counts + "; kept the columns of the online nodes (" + online_ids + ")");
  return online_row;
}

// One SLIT row: a distance to each online node, this one included.
std::vector<unsigned> ReadDistances(const SysfsRoot& root, unsigned id, DistanceColumns& columns,
                                    std::vector<std::string>& warnings) {
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
  if (row.size() == columns.online().size()) return row;
  if (row.size() != columns.possible().Count())
    throw InputError(root.PathOf(rel), std::to_string(row.size()) + " distances for " +
                                           std::to_string(columns.online().size()) + " nodes (" +
                                           std::to_string(columns.possible().Count()) +
                                           " possible)");
  return OnlineColumns(row, columns, root.PathOf(rel).string(), warnings);
}

}  // namespace

NumaTopology ReadNumaTopology(const SysfsRoot& root, const std::vector<HwlocNumaNode>& hwloc_nodes,
                              const CpuSet& online, std::vector<std::string>& warnings) {
  NumaTopology topo;
  const std::vector<unsigned> sysfs_ids = root.ListNumbered(kNodeDir, "node");
  topo.sysfs_node_ids = sysfs_ids;
  const auto kernel_max = root.ReadIntOptional("sys/devices/system/cpu/kernel_max");
  if (kernel_max && *kernel_max < 0)
    throw InputError(root.PathOf("sys/devices/system/cpu/kernel_max"),
                     "negative (" + std::to_string(*kernel_max) + "): the highest CPU id is >= 0");

  DistanceColumns distance_columns(root, sysfs_ids);
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
    if (has_dir) node.distances = ReadDistances(root, hw.id, distance_columns, warnings);
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

std::string NumaMemoryChange(const SysfsRoot& root, const NumaTopology& topo) {
  const std::vector<unsigned> sysfs_ids = root.ListNumbered(kNodeDir, "node");
  if (sysfs_ids != topo.sysfs_node_ids) {
    CpuSet was, now;
    for (unsigned id : topo.sysfs_node_ids) was.Add(id);
    for (unsigned id : sysfs_ids) now.Add(id);
    return "NUMA nodes " + now.ToList() + " (were " + was.ToList() + ")";
  }
  for (const auto& node : topo.nodes) {
    if (!std::binary_search(sysfs_ids.begin(), sysfs_ids.end(), node.id)) continue;
    const auto kib = ReadNodeMemTotal(root, node.id);
    if (kib && *kib != node.memory_kib)
      return "node" + std::to_string(node.id) + " memory " + std::to_string(*kib) + " kB (was " +
             std::to_string(node.memory_kib) + " kB)";
  }
  return {};
}

}  // namespace kvhost
