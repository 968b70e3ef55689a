// Pure model (header-only, so the allocator uses it without linking the reader) of the NUMA nodes:
// which online CPUs and how much memory each has, and the distances between them. Node ids may be
// sparse; a node may have no CPUs.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/cpu_set.h"

namespace kvhost {

struct NumaNode {
  unsigned id = 0;
  CpuSet cpus;  // online CPUs; empty for a memory-only node (PMEM, GPU memory)
  uint64_t memory_kib = 0;
  std::vector<unsigned> distances;  // SLIT row: one per online node (node directory), by id
};

struct NumaTopology {
  std::vector<NumaNode> nodes;  // ordered by id
  CpuSet cpus_without_node;     // online CPUs that no node claims
  // The kernel's node directories when read (hwloc may merge some into one
  // node): a node coming or going with its memory changes this list alone.
  std::vector<unsigned> sysfs_node_ids;

  const NumaNode* Find(unsigned id) const {
    for (const auto& n : nodes)
      if (n.id == id) return &n;
    return nullptr;
  }
  // The node holding `cpu`, if any.
  std::optional<unsigned> NodeOf(unsigned cpu) const {
    for (const auto& n : nodes)
      if (n.cpus.Contains(cpu)) return n.id;
    return std::nullopt;
  }
  // Distance between two nodes from the SLIT; 10 for itself, 20 when unknown.
  unsigned Distance(unsigned from, unsigned to) const {
    if (from == to) return 10;
    const NumaNode* a = Find(from);
    if (!a) return 20;
    // The SLIT row is ordered by node id, the same order as `nodes`.
    for (size_t i = 0; i < nodes.size() && i < a->distances.size(); ++i)
      if (nodes[i].id == to) return a->distances[i];
    return 20;
  }
};

}  // namespace kvhost
