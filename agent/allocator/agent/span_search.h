// The NUMA span search of the dedicated placement (dedicated_placement.cpp):
// when no single node fits a VM, the fewest nodes, closest first (SLIT), that
// do. Internal to the allocator; pure.
#pragma once

#include <optional>
#include <vector>

#include "agent/allocator/agent/node_fit.h"
#include "agent/allocator/allocator.h"

namespace kvhost::span_search {

struct SpanChoice {
  std::vector<size_t> nodes;             // node indexes, emulator on the first
  std::vector<node_fit::NodeTry> tries;  // per node, with the memory it backs
};

// Memory is split in units: one hugepage, or 1 MiB of ordinary memory.
inline uint64_t MemoryUnitKib(const InstanceType& type) {
  return type.hugepage_size_kib ? type.hugepage_size_kib : 1024;
}

// vCPUs per node as even as the nodes' free CPUs (`cpus`) allow (water-filling,
// the smallest node first), every node at least one. False when they cannot
// hold them. `order` is scratch.
bool SplitVcpus(unsigned vcpus, const std::vector<unsigned>& cpus, std::vector<size_t>& order,
                std::vector<unsigned>& share);

// Memory units per span node: in proportion to the node's vCPUs where its
// free memory allows, the rest from the nodes with memory to spare, so a node
// short of pages can still lend its cores. Every node backs at least one unit
// (each guest cell has memory). False when the nodes cannot back it all.
bool SplitMemory(uint64_t units, const std::vector<unsigned>& vcpus, unsigned total_vcpus,
                 const std::vector<uint64_t>& free, std::vector<uint64_t>& take);

// The best set of nodes for `type`: fewest nodes, then the least summed
// distance, then the fewest free CPUs left; nullopt when no set fits.
std::optional<SpanChoice> FindSpan(const Allocator& a, const node_fit::FreeSnapshot& snap,
                                   const InstanceType& type);

}  // namespace kvhost::span_search
