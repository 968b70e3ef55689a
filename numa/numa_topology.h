// Pure model of the NUMA nodes: which online CPUs and how much memory each has,
// and the distances between them. Node ids may be sparse; a node may have no CPUs.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cpu/cpu_set.h"

namespace kvhost {

struct NumaNode {
  unsigned id = 0;
  CpuSet cpus;  // online CPUs; empty for a memory-only node (PMEM, GPU memory)
  uint64_t memory_kib = 0;
  std::vector<unsigned> distances;  // the node's SLIT row as the kernel prints it
};

struct NumaTopology {
  std::vector<NumaNode> nodes;  // ordered by id
  CpuSet cpus_without_node;     // online CPUs that no node claims

  const NumaNode* Find(unsigned id) const;
  // The node holding `cpu`, if any.
  std::optional<unsigned> NodeOf(unsigned cpu) const;
  // Distance between two nodes from the SLIT; 10 for itself, 20 when unknown.
  unsigned Distance(unsigned from, unsigned to) const;
};

}  // namespace kvhost
