// Fitting a dedicated VM onto one NUMA node: the step the dedicated placement
// (dedicated_placement.cpp) repeats per node and per node set. Internal to
// the allocator; pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"

namespace kvhost::node_fit {

struct NodeTry {
  bool ok = false;
  std::vector<unsigned> cores;  // chosen core indexes
  std::vector<unsigned> cpus;   // CPUs for the vCPUs, in order
  std::optional<unsigned> emulator;
  uint64_t pages = 0;
  uint64_t memory_kib = 0;  // guest memory this node backs
  unsigned free_cpus = 0;   // free dedicated CPUs on whole cores before placing
  unsigned leftover = 0;    // free dedicated CPUs after placing (best-fit key)
  // What failed, each a short phrase with the numbers.
  std::string cores_short, emulator_short, pages_short, memory_short, shared_short;
};

// Free resources of every node, read once per placement (the span search
// would otherwise recompute them for every subset it tries).
struct FreeSnapshot {
  std::vector<std::vector<unsigned>> cores;  // free dedicable cores per node
  std::vector<unsigned> cpus;                // CPUs on those cores
  std::vector<uint64_t> memory_kib;          // free hugepage (or ordinary) memory for this type
};

FreeSnapshot TakeSnapshot(const Allocator& a, const InstanceType& type);

// Whether `vcpus` (and an emulator CPU, `memory_kib`) fit on node `ni`, avoiding
// CPUs another node of the same span already took; what failed, if not.
NodeTry TryNode(const Allocator& a, const FreeSnapshot& snap, size_t ni, unsigned vcpus,
                uint64_t memory_kib, const InstanceType& type, bool with_emulator,
                const CpuSet& taken_elsewhere);

// "2 vCPUs on whole cores + 1 emulator CPU".
std::string CpuNeed(const InstanceType& type);

// Why taking `newly_held` would push shared guests over their ratio; "" if it would not.
std::string SharedSqueeze(const Allocator& a, const CpuSet& newly_held);

}  // namespace kvhost::node_fit
