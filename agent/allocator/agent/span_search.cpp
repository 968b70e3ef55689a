#include "agent/allocator/agent/span_search.h"

#include <algorithm>
#include <deque>
#include <numeric>
#include <tuple>

#include "base/sizes.h"

namespace kvhost::span_search {

using node_fit::FreeSnapshot;
using node_fit::NodeFitter;
using node_fit::NodeTry;

bool SplitMemory(uint64_t units, const std::vector<unsigned>& vcpus, unsigned total_vcpus,
                 const std::vector<uint64_t>& free, std::vector<uint64_t>& take) {
  take.assign(vcpus.size(), 0);
  uint64_t given = 0;
  for (size_t k = 0; k < vcpus.size(); ++k) {
    take[k] = std::min(std::max<uint64_t>(1, units * vcpus[k] / total_vcpus), free[k]);
    if (take[k] == 0) return false;
    given += take[k];
  }
  if (given > units) return false;  // fewer units than nodes
  for (size_t k = 0; k < take.size() && given < units; ++k) {
    const uint64_t more = std::min(units - given, free[k] - take[k]);
    take[k] += more;
    given += more;
  }
  return given == units;
}

bool SplitVcpus(unsigned vcpus, const std::vector<unsigned>& cpus, std::vector<size_t>& order,
                std::vector<unsigned>& share) {
  order.resize(cpus.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return cpus[x] < cpus[y]; });
  share.assign(cpus.size(), 0);
  unsigned left = vcpus;
  for (size_t i = 0; i < order.size(); ++i) {
    const unsigned nodes_left = static_cast<unsigned>(order.size() - i);
    share[order[i]] = std::min(cpus[order[i]], (left + nodes_left - 1) / nodes_left);
    if (share[order[i]] == 0) return false;  // a node that adds nothing is not one of the fewest
    left -= share[order[i]];
  }
  return left == 0;
}

namespace {

// Every k-subset of nodes (bounded: hosts have at most a few dozen nodes).
template <typename F>
void ForEachSubset(size_t n, size_t k, F&& f) {
  std::vector<size_t> idx(k);
  std::iota(idx.begin(), idx.end(), 0);
  for (unsigned budget = 20000; budget > 0; --budget) {
    f(idx);
    size_t i = k;
    while (i > 0 && idx[i - 1] == n - k + i - 1) --i;
    if (i == 0) return;
    ++idx[i - 1];
    for (size_t j = i; j < k; ++j) idx[j] = idx[j - 1] + 1;
  }
}

struct Plan {
  std::vector<size_t> nodes;          // node indexes, emulator on the first
  std::vector<const NodeTry*> tries;  // owned by the search
  std::vector<uint64_t> memory_kib;   // what each node backs
  unsigned distance = 0;
  unsigned leftover = 0;
};

// One search: the state is fixed meanwhile, so a node's try for a vCPU count
// is the same in every subset that holds it, unless CPUs another node of the
// set took could be among its own. Those tries are made once; a search tries
// dozens of subsets and most nodes are in many of them.
class Search {
 public:
  Search(const Allocator& a, const FreeSnapshot& snap, const InstanceType& type)
      : host_(a.host()), snap_(snap), type_(type), fitter_(a, snap, type) {
    // CPUs a try on the node may take or look at: its free cores, its emulator candidates.
    reach_.resize(host_.nodes.size());
    for (size_t ni = 0; ni < host_.nodes.size(); ++ni) {
      reach_[ni] = a.EmulatorCandidates(ni);
      for (unsigned c : snap.cores(ni)) reach_[ni] |= host_.cores[c].pus;
    }
  }

  // Splits vCPUs over `nodes` (SplitVcpus; the emulator on the node with the
  // most CPUs to spare), then memory (SplitMemory). Guest cells mirror the
  // result. False also when the plan would not beat `best` (so need not be made).
  bool TrySpan(const std::vector<size_t>& nodes, const Plan* best, Plan& plan) {
    cpus_.clear();
    for (size_t ni : nodes) cpus_.push_back(snap_.cpus(ni));
    if (!SplitVcpus(type_.vcpus, cpus_, scratch_, shares_)) return false;
    size_t first = 0;  // where the emulator goes; its node is tried first
    for (size_t k = 1; k < nodes.size(); ++k)
      if (cpus_[k] - shares_[k] > cpus_[first] - shares_[first]) first = k;
    order_.assign(1, first);
    for (size_t k = 0; k < nodes.size(); ++k)
      if (k != first) order_.push_back(k);

    plan.nodes.clear();
    plan.tries.clear();
    plan.leftover = 0;
    for (size_t k : order_) plan.nodes.push_back(nodes[k]);
    plan.distance = 0;
    for (size_t i = 0; i < plan.nodes.size(); ++i)
      for (size_t j = i + 1; j < plan.nodes.size(); ++j)
        plan.distance += host_.distance[plan.nodes[i]][plan.nodes[j]];
    // Leftovers only add up: a plan that cannot come out below `best` is dropped early.
    if (best && plan.distance > best->distance) return false;
    const bool bounded = best && plan.distance == best->distance;

    CpuSet taken;
    for (size_t k : order_) {
      const bool emulator_here = plan.tries.empty() && type_.isolate_emulator_thread;
      // Memory is checked once the split is known, below.
      const NodeTry* t = &Try(nodes[k], shares_[k], emulator_here, taken);
      // The emulator may need room on this node: give one of its vCPUs (a core's
      // worth for realtime types, whose emulator may not use an idle sibling) to
      // nodes with CPUs to spare.
      const unsigned step = type_.realtime ? host_.threads_per_core : 1;
      if (!t->ok() && emulator_here && shares_[k] > step) {
        unsigned moved = 0;
        for (size_t j = 0; j < nodes.size() && moved < step; ++j) {
          if (j == k) continue;
          const unsigned more = std::min(step - moved, cpus_[j] - shares_[j]);
          shares_[j] += more;
          moved += more;
        }
        if (moved < step) return false;
        shares_[k] -= step;
        t = &Try(nodes[k], shares_[k], emulator_here, taken);
      }
      if (!t->ok()) return false;
      node_fit::AddHeldCpus(host_, *t, taken);
      plan.leftover += t->leftover;
      plan.tries.push_back(t);
      if (bounded && plan.leftover >= best->leftover) return false;
    }
    planned_.clear();  // shares in plan order
    for (size_t k : order_) planned_.push_back(shares_[k]);

    const uint64_t unit = MemoryUnitKib(type_);
    free_units_.clear();
    for (size_t ni : plan.nodes) free_units_.push_back(snap_.memory_kib(ni) / unit);
    if (!SplitMemory(PagesFor(type_.memory_kib, unit), planned_, type_.vcpus, free_units_, units_))
      return false;
    plan.memory_kib.clear();
    uint64_t memory_left = type_.memory_kib;
    for (size_t k = 0; k < plan.tries.size(); ++k) {
      // The last cell takes what is left when the memory is not a whole number of units.
      plan.memory_kib.push_back(k + 1 == plan.tries.size() ? memory_left : units_[k] * unit);
      memory_left -= plan.memory_kib.back();
    }
    return true;
  }

 private:
  // The fitter's try for a span node (memory 0: checked by the split), made once per
  // node, vCPU count and emulator whenever `taken` cannot matter to it.
  const NodeTry& Try(size_t ni, unsigned vcpus, bool emulator, const CpuSet& taken) {
    const node_fit::NodeAsk ask{ni, vcpus, 0, emulator};
    if (taken.Intersects(reach_[ni])) {
      fresh_.push_back(fitter_.Try(ask, taken));
      return fresh_.back();
    }
    for (const Cached& c : cache_)
      if (c.ni == ni && c.vcpus == vcpus && c.emulator == emulator) return c.t;
    cache_.push_back({ni, vcpus, emulator, fitter_.Try(ask)});
    return cache_.back().t;
  }

  struct Cached {
    size_t ni;
    unsigned vcpus;
    bool emulator;
    NodeTry t;
  };

  const HostResources& host_;
  const FreeSnapshot& snap_;
  const InstanceType& type_;
  const NodeFitter fitter_;
  std::vector<CpuSet> reach_;
  std::deque<Cached> cache_;   // deques: plans point into them
  std::deque<NodeTry> fresh_;  // tries that saw CPUs taken by another node of their set
  // Scratch for TrySpan, kept between subsets.
  std::vector<unsigned> cpus_, shares_, planned_;
  std::vector<size_t> order_, scratch_;
  std::vector<uint64_t> free_units_, units_;
};

}  // namespace

std::optional<SpanChoice> FindSpan(const Allocator& a, const FreeSnapshot& snap,
                                   const InstanceType& type) {
  const HostResources& host = a.host();
  // Spanning can only help when the nodes together hold enough: a node adds
  // the CPUs of its free cores and its free memory, and must add some of each.
  // Checking those sums before searching subsets keeps the search (capacity's
  // costly part) short.
  const uint64_t unit = MemoryUnitKib(type);
  const uint64_t units = PagesFor(type.memory_kib, unit);
  std::vector<unsigned> most_cpus;
  std::vector<uint64_t> most_units;
  for (size_t ni = 0; ni < host.nodes.size(); ++ni)
    if (snap.cpus(ni) > 0 && snap.memory_kib(ni) >= unit) {
      most_cpus.push_back(snap.cpus(ni));
      most_units.push_back(snap.memory_kib(ni) / unit);
    }
  std::sort(most_cpus.rbegin(), most_cpus.rend());
  std::sort(most_units.rbegin(), most_units.rend());
  auto enough = [&](const std::vector<size_t>& nodes) {
    unsigned cpus = 0;
    uint64_t memory = 0;
    for (size_t ni : nodes) {
      // A node that adds nothing is not one of the fewest.
      if (snap.cpus(ni) == 0 || snap.memory_kib(ni) < unit) return false;
      cpus += snap.cpus(ni);
      memory += snap.memory_kib(ni) / unit;
    }
    return cpus >= type.vcpus && memory >= units;
  };
  std::optional<Search> search;  // made once a subset is worth trying
  Plan best, candidate;
  unsigned best_k_cpus = most_cpus.empty() ? 0 : most_cpus[0];
  uint64_t best_k_units = most_units.empty() ? 0 : most_units[0];
  for (size_t k = 2; k <= most_cpus.size(); ++k) {  // larger sets include a node adding nothing
    best_k_cpus += most_cpus[k - 1];
    best_k_units += most_units[k - 1];
    if (best_k_cpus < type.vcpus || best_k_units < units) continue;  // no k nodes can hold it
    bool found = false;
    ForEachSubset(host.nodes.size(), k, [&](const std::vector<size_t>& subset) {
      if (!enough(subset)) return;
      unsigned distance = 0;  // cheap to sum; a farther set than the best found cannot win
      for (size_t i = 0; i < subset.size(); ++i)
        for (size_t j = i + 1; j < subset.size(); ++j)
          distance += host.distance[subset[i]][subset[j]];
      if (found && distance > best.distance) return;
      if (!search) search.emplace(a, snap, type);
      if (!search->TrySpan(subset, found ? &best : nullptr, candidate)) return;
      CpuSet held;
      for (const NodeTry* t : candidate.tries) node_fit::AddHeldCpus(host, *t, held);
      if (node_fit::Squeezes(a, held)) return;
      // TrySpan refused whatever would not beat `best`.
      std::swap(best, candidate);
      found = true;
    });
    if (found) {
      SpanChoice choice;
      choice.nodes = best.nodes;
      for (size_t i = 0; i < best.tries.size(); ++i) {
        NodeTry t = *best.tries[i];
        t.ask.memory_kib = best.memory_kib[i];
        t.take.pages = PagesFor(t.ask.memory_kib, type.hugepage_size_kib);
        choice.tries.push_back(std::move(t));
      }
      return choice;
    }
  }
  return std::nullopt;
}

}  // namespace kvhost::span_search
