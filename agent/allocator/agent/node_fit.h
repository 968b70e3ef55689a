// Fitting a dedicated VM onto one NUMA node: the step the dedicated placement
// (dedicated_placement.cpp) repeats per node and per node set. Internal to
// the allocator; pure.
//
// A try reads like the policy, as kubelet's cpu_assignment.go accumulator
// does: memory first, then whole cores, then the emulator CPU. It records
// what it would take, or the flags and numbers of what the node is short of;
// the words are composed only for a refusal that is returned (capacity makes,
// and throws away, far more tries than it reports).
#pragma once

#include <fmt/format.h>

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"

namespace kvhost::node_fit {

// What a dedicated VM asks of one node.
struct NodeAsk {
  size_t node = 0;          // node index
  unsigned vcpus = 0;       // vCPUs to place on its whole cores
  uint64_t memory_kib = 0;  // guest memory it backs (0: a span checks memory itself)
  bool emulator = false;    // the isolated emulator thread goes here too
};

// What the node would give.
struct NodeTake {
  std::vector<unsigned> cores;  // chosen core indexes
  std::vector<unsigned> cpus;   // CPUs for the vCPUs, in order
  std::optional<unsigned> emulator;
  uint64_t pages = 0;  // hugepages backing the ask's memory (hugepage types)
};

// What the node is short of.
struct NodeShortfalls {
  bool cores = false;     // its free whole cores hold fewer CPUs than the vCPUs
  bool emulator = false;  // no dedicated CPU left for the emulator thread
  bool pages = false;     // too few free hugepages of the type's size
  bool memory = false;    // too little free ordinary memory
  bool shared = false;    // taking the cores would push shared guests over their ratio
  bool Any() const { return cores || emulator || pages || memory || shared; }
};

struct NodeTry {
  NodeAsk ask;
  NodeTake take;
  NodeShortfalls short_of;
  unsigned free_cores = 0;  // free dedicated cores the node had for the ask
  unsigned free_cpus = 0;   // CPUs on those cores
  unsigned leftover = 0;    // free CPUs left once it takes its cores (best-fit key)
  bool ok() const { return !short_of.Any(); }
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

// Which shortfalls a try looks for: callers that only need `ok()` and, when
// ok, the choice stop at the first; a refusal explains them all.
enum class Shortfalls { kFirst, kAll };

// Tries nodes for one type against one allocator state and snapshot.
class NodeFitter {
 public:
  NodeFitter(const Allocator& a, const FreeSnapshot& snap, const InstanceType& type)
      : a_(a), snap_(snap), type_(type) {}
  // Whether `ask` fits its node, avoiding CPUs another node of the same span
  // already took (`taken_elsewhere`); what it would take, or what it lacks.
  // Does not check the shared pool's ratio (see Squeezes).
  NodeTry Try(const NodeAsk& ask, const CpuSet& taken_elsewhere = {},
              Shortfalls look_for = Shortfalls::kFirst) const;

 private:
  const Allocator& a_;
  const FreeSnapshot& snap_;
  const InstanceType& type_;
};

// Adds what a successful try would hold to `cpus`: its vCPU cores, every
// sibling included, and its emulator CPU.
inline void AddHeldCpus(const HostResources& host, const NodeTry& t, CpuSet& cpus) {
  for (unsigned c : t.take.cores) cpus |= host.cores[c].pus;
  if (t.take.emulator) cpus.Add(*t.take.emulator);
}

// Whether taking `newly_held` would push shared guests over their ratio.
bool Squeezes(const Allocator& a, const CpuSet& newly_held);

// The words for a try's shortfalls, joined by "; ", added to `lines` as one
// line (none when it has none); the allocator must be as it was when tried.
void AddShortfallWords(const Allocator& a, const InstanceType& type, const NodeTry& t,
                       RefusalLines& lines);
// "node 0 has 3 free dedicated cores (6 CPUs), needs 8 CPUs"
void AppendCoresShort(fmt::memory_buffer& out, const Allocator& a, const NodeTry& t);
// "2 vCPUs on whole cores + 1 emulator CPU"
void AppendCpuNeed(fmt::memory_buffer& out, const InstanceType& type);

}  // namespace kvhost::node_fit
