// The NUMA span search of the dedicated placement (dedicated_placement.cpp):
// when no single node fits a VM, the fewest nodes, closest first (SLIT), that
// do. Internal to the allocator; pure.
#pragma once

#include <optional>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/allocator/node_fit.h"

namespace kvhost::span_search {

struct SpanChoice {
  std::vector<size_t> nodes;             // node indexes, emulator on the first
  std::vector<node_fit::NodeTry> tries;  // per node, with the memory it backs
};

// Memory is split in units: one hugepage, or 1 MiB of ordinary memory.
inline uint64_t MemoryUnitKib(const InstanceType& type) {
  return type.hugepage_size_kib ? type.hugepage_size_kib : 1024;
}

// The best set of nodes for `type`: fewest nodes, then the least summed
// distance, then the fewest free CPUs left; nullopt when no set fits.
std::optional<SpanChoice> FindSpan(const Allocator& a, const node_fit::FreeSnapshot& snap,
                                   const InstanceType& type);

}  // namespace kvhost::span_search
