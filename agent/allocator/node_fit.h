// Fitting a dedicated VM onto one NUMA node: the step the dedicated placement
// (dedicated_placement.cpp) repeats per node and per node set. Internal to
// the allocator; pure.
#pragma once

#include <array>
#include <optional>
#include <span>
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
  // What failed. The words come from the *Short functions below, composed
  // only for the refusal a caller returns: capacity counts try (and throw
  // away) far more refusals than they report.
  bool cores_short = false, emulator_short = false, pages_short = false, memory_short = false;
  size_t node = 0;          // node index tried
  unsigned vcpus = 0;       // vCPUs asked of it
  unsigned free_cores = 0;  // free dedicated cores it had for them
  std::string shared_short;
};

// Free resources of every node, read once per placement (the span search
// would otherwise recompute them for every subset it tries).
struct FreeSnapshot {
  struct Node {
    size_t begin = 0, end = 0;  // its free dedicable cores: cores()[begin, end)
    unsigned cpus = 0;          // CPUs on those cores
    uint64_t memory_kib = 0;    // free hugepage (or ordinary) memory for this type
  };
  // Hosts up to these sizes (most) keep the snapshot inside the object: two
  // heap blocks per placement were a good part of what a refusal cost, and
  // capacity refuses every type at least once. Larger hosts use the vectors.
  static constexpr size_t kInlineNodes = 8, kInlineCores = 64;
  std::array<Node, kInlineNodes> inline_nodes;
  std::array<unsigned, kInlineCores> inline_cores;  // node after node
  std::vector<Node> heap_nodes;
  std::vector<unsigned> heap_cores;
  bool on_heap = false;

  std::span<const unsigned> cores(size_t ni) const {
    const Node& n = node(ni);
    return {(on_heap ? heap_cores.data() : inline_cores.data()) + n.begin, n.end - n.begin};
  }
  unsigned cpus(size_t ni) const { return node(ni).cpus; }
  uint64_t memory_kib(size_t ni) const { return node(ni).memory_kib; }
  const Node& node(size_t ni) const { return on_heap ? heap_nodes[ni] : inline_nodes[ni]; }
};

FreeSnapshot TakeSnapshot(const Allocator& a, const InstanceType& type);

// Adds what a successful try would hold to `cpus`: its vCPU cores, every
// sibling included, and its emulator CPU.
inline void AddHeldCpus(const HostResources& host, const NodeTry& t, CpuSet& cpus) {
  for (unsigned c : t.cores) cpus |= host.cores[c].pus;
  if (t.emulator) cpus.Add(*t.emulator);
}

// Whether `vcpus` (and an emulator CPU, `memory_kib`) fit on node `ni`, avoiding
// CPUs another node of the same span already took; what failed, if not. With
// `every_failure` false it stops at the first failure (callers that only need
// `ok` and, when ok, the choice).
NodeTry TryNode(const Allocator& a, const FreeSnapshot& snap, size_t ni, unsigned vcpus,
                uint64_t memory_kib, const InstanceType& type, bool with_emulator,
                const CpuSet& taken_elsewhere, bool every_failure);

// The words for each failure TryNode flags; the allocator must be as it was.
std::string CoresShort(const Allocator& a, const NodeTry& t);
void AppendCoresShort(std::string& out, const Allocator& a, const NodeTry& t);
std::string EmulatorShort(const Allocator& a, const NodeTry& t);
std::string PagesShort(const Allocator& a, const NodeTry& t, const InstanceType& type);
std::string MemoryShort(const Allocator& a, const NodeTry& t);

// Appends "2 vCPUs on whole cores + 1 emulator CPU".
void AppendCpuNeed(std::string& out, const InstanceType& type);

// Whether taking `newly_held` would push shared guests over their ratio.
bool Squeezes(const Allocator& a, const CpuSet& newly_held);
// Why it would, in words; "" if it would not.
std::string SharedSqueeze(const Allocator& a, const CpuSet& newly_held);

}  // namespace kvhost::node_fit
