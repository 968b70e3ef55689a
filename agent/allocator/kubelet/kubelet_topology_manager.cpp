#include "agent/allocator/kubelet/kubelet_topology_manager.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace kvhost::kubelet {
namespace {

int Count(NumaMask m) { return std::popcount(m); }

// bitmask.IsNarrowerThan: fewer nodes, or as many and lower-numbered ones.
bool IsNarrowerThan(NumaMask a, NumaMask b) {
  return Count(a) == Count(b) ? a < b : Count(a) < Count(b);
}

double AverageDistance(const NumaInfo& numa, NumaMask mask) {
  double sum = 0, count = 0;
  for (int a = 0; a < 64; ++a) {
    if (!(mask >> a & 1)) continue;
    for (int b = 0; b < 64; ++b) {
      if (!(mask >> b & 1)) continue;
      sum += numa.distances.at(a).at(static_cast<size_t>(b));
      ++count;
    }
  }
  return count == 0 ? 0 : sum / count;
}

NumaMask Narrowest(NumaMask a, NumaMask b) { return IsNarrowerThan(a, b) ? a : b; }

NumaMask Closest(const NumaInfo& numa, NumaMask a, NumaMask b) {
  if (Count(a) != Count(b)) return Narrowest(a, b);
  const double da = AverageDistance(numa, a), db = AverageDistance(numa, b);
  if (da == db) return a < b ? a : b;
  return da < db ? a : b;
}

// filterProvidersHints: one list per (provider, resource).
std::vector<std::vector<TopologyHint>> Filter(const std::vector<ProviderHints>& providers) {
  std::vector<std::vector<TopologyHint>> out;
  for (const auto& hints : providers) {
    if (hints.empty()) {
      out.push_back({TopologyHint{std::nullopt, true}});
      continue;
    }
    for (const auto& [resource, list] : hints) {
      if (!list)
        out.push_back({TopologyHint{std::nullopt, true}});
      else if (list->empty())
        out.push_back({TopologyHint{std::nullopt, false}});
      else
        out.push_back(*list);
    }
  }
  return out;
}

std::vector<std::vector<TopologyHint>> SingleNumaOnly(
    const std::vector<std::vector<TopologyHint>>& all) {
  std::vector<std::vector<TopologyHint>> out;
  for (const auto& hints : all) {
    std::vector<TopologyHint> kept;
    for (const auto& h : hints)
      if (h.preferred && (!h.affinity || Count(*h.affinity) == 1)) kept.push_back(h);
    out.push_back(kept);
  }
  return out;
}

// A permutation merged over its first hints: the AND of their affinities,
// whether it can still be preferred and, while it can, the affinity every
// hint with one must equal (mergePermutation's rule).
struct PartialMerge {
  NumaMask merged = 0;
  bool preferred = true;
  std::optional<NumaMask> first;
  auto operator<=>(const PartialMerge&) const = default;
};

PartialMerge Extend(PartialMerge p, const TopologyHint& hint) {
  if (hint.affinity) {
    if (!p.first) p.first = *hint.affinity;
    if (*hint.affinity != *p.first) p.preferred = false;  // only equal affinities stay preferred
    p.merged &= *hint.affinity;
  }
  if (!hint.preferred) p.preferred = false;
  if (!p.preferred) p.first.reset();  // no longer matters: equal partial merges become one
  return p;
}

// maxOfMinAffinityCounts.
int BestNonPreferredCount(const std::vector<std::vector<TopologyHint>>& all) {
  int best = 0;
  for (const auto& hints : all) {
    const TopologyHint* narrowest = nullptr;
    for (const auto& h : hints) {
      if (!h.affinity) continue;
      if (narrowest == nullptr || IsNarrowerThan(*h.affinity, *narrowest->affinity)) narrowest = &h;
    }
    if (narrowest != nullptr) best = std::max(best, Count(*narrowest->affinity));
  }
  return best;
}

class HintMerger {
 public:
  HintMerger(const NumaInfo& numa, std::vector<std::vector<TopologyHint>> hints, bool closest)
      : numa_(numa),
        hints_(std::move(hints)),
        closest_(closest),
        best_count_(BestNonPreferredCount(hints_)) {}

  // Compare ranks merged hints by one total order (preferred first, then by
  // affinity count against best_count_, then CompareMasks), so the best over
  // every permutation is the best over the distinct merges. Those are built
  // list by list instead of walking the permutations: with CPU, memory and a
  // hugepage size on 8 NUMA nodes that is up to 255^3 of them per container.
  TopologyHint Merge() const {
    const NumaMask default_mask = numa_.DefaultMask();
    std::vector<PartialMerge> partials{{default_mask, true, std::nullopt}};
    std::vector<PartialMerge> next;
    for (const auto& list : hints_) {
      next.clear();
      for (const PartialMerge& p : partials)
        for (const auto& hint : list) next.push_back(Extend(p, hint));
      if (next.size() > 1) {
        std::sort(next.begin(), next.end());
        next.erase(std::unique(next.begin(), next.end()), next.end());
      }
      partials.swap(next);
    }
    std::optional<TopologyHint> best;
    for (const PartialMerge& p : partials) best = Compare(best, {p.merged, p.preferred});
    return best ? *best : TopologyHint{default_mask, false};
  }

 private:
  const TopologyHint& CompareMasks(const TopologyHint& current,
                                   const TopologyHint& candidate) const {
    if (*candidate.affinity == *current.affinity) return current;
    const NumaMask b = closest_ ? Closest(numa_, *current.affinity, *candidate.affinity)
                                : Narrowest(*current.affinity, *candidate.affinity);
    return b == *current.affinity ? current : candidate;
  }

  // HintMerger.compare, case by case.
  std::optional<TopologyHint> Compare(const std::optional<TopologyHint>& current,
                                      const TopologyHint& candidate) const {
    if (Count(*candidate.affinity) == 0) return current;
    if (!current) return candidate;
    if (!current->preferred && candidate.preferred) return candidate;
    if (current->preferred && !candidate.preferred) return current;
    if (current->preferred && candidate.preferred) return CompareMasks(*current, candidate);
    const int cur = Count(*current->affinity), cand = Count(*candidate.affinity);
    if (cur > best_count_) return CompareMasks(*current, candidate);
    if (cur == best_count_)
      return cand != best_count_ ? *current : CompareMasks(*current, candidate);
    if (cand > best_count_) return current;
    if (cand == best_count_) return candidate;
    if (cand > cur) return candidate;
    if (cand < cur) return current;
    return CompareMasks(*current, candidate);
  }

  const NumaInfo& numa_;
  std::vector<std::vector<TopologyHint>> hints_;
  bool closest_;
  int best_count_;
};

// Every provider without a preference (a Burstable container: no exclusive
// CPUs, no memory manager hints): each list is the one hint "any node,
// preferred", single-numa-node keeps it, so every permutation merges to it.
bool NoPreference(const std::vector<ProviderHints>& providers) {
  for (const auto& hints : providers)
    for (const auto& [resource, list] : hints)
      if (list) return false;
  return true;
}

// What HintMerger::Merge gives for NoPreference providers, without building
// their lists: shared VMs' pods are all such, and a count admits hundreds.
TopologyHint MergedWithoutPreference(const NumaInfo& numa) {
  const NumaMask all = numa.DefaultMask();
  return {all, all != 0};  // Compare drops an empty mask; Merge then falls back to unpreferred
}

}  // namespace

std::vector<int> MaskBits(NumaMask mask) {
  std::vector<int> out;
  for (int i = 0; i < 64; ++i)
    if (mask >> i & 1) out.push_back(i);
  return out;
}

NumaMask MaskOf(const std::vector<int>& nodes) {
  NumaMask m = 0;
  for (int n : nodes) m |= NumaMask{1} << n;
  return m;
}

NumaMask NumaInfo::DefaultMask() const {
  NumaMask m = 0;
  for (int n : nodes) m |= NumaMask{1} << n;
  return m;
}

TopologyPolicy ParseTopologyPolicy(const std::string& name) {
  if (name == "none") return TopologyPolicy::kNone;
  if (name == "best-effort") return TopologyPolicy::kBestEffort;
  if (name == "restricted") return TopologyPolicy::kRestricted;
  if (name == "single-numa-node") return TopologyPolicy::kSingleNumaNode;
  throw std::invalid_argument("unknown topology manager policy '" + name + "'");
}

MergeResult MergeHints(TopologyPolicy policy, const NumaInfo& numa,
                       const TopologyPolicyOptions& options,
                       const std::vector<ProviderHints>& providers) {
  if (policy == TopologyPolicy::kNone) return {TopologyHint{}, true};
  const bool single_numa = policy == TopologyPolicy::kSingleNumaNode;
  TopologyHint best;
  if (NoPreference(providers))
    best = MergedWithoutPreference(numa);
  else if (single_numa)  // prefer-closest-numa-nodes does not apply to single-numa-node.
    best = HintMerger(numa, SingleNumaOnly(Filter(providers)), false).Merge();
  else
    best = HintMerger(numa, Filter(providers), options.prefer_closest_numa).Merge();
  if (single_numa) {
    if (best.affinity && *best.affinity == numa.DefaultMask()) best.affinity.reset();
    return {best, best.preferred};
  }
  return {best, policy == TopologyPolicy::kBestEffort || best.preferred};
}

}  // namespace kvhost::kubelet
