#include "agent/allocator/kubelet_topology_manager.h"

#include <bit>
#include <functional>
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

TopologyHint MergePermutation(NumaMask default_mask, const std::vector<TopologyHint>& permutation) {
  bool preferred = true;
  NumaMask merged = default_mask;
  std::optional<NumaMask> first;
  for (const auto& hint : permutation) {
    if (hint.affinity) {
      if (!first) first = *hint.affinity;
      if (*hint.affinity != *first) preferred = false;  // only equal affinities stay preferred
      merged &= *hint.affinity;
    }
    if (!hint.preferred) preferred = false;
  }
  return {merged, preferred};
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

  TopologyHint Merge() const {
    const NumaMask default_mask = numa_.DefaultMask();
    std::optional<TopologyHint> best;
    std::vector<TopologyHint> accum;
    std::function<void(size_t)> iterate = [&](size_t i) {
      if (i == hints_.size()) {
        const TopologyHint merged = MergePermutation(default_mask, accum);
        best = Compare(best, merged);
        return;
      }
      for (const auto& h : hints_[i]) {
        accum.push_back(h);
        iterate(i + 1);
        accum.pop_back();
      }
    };
    iterate(0);
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
  auto filtered = Filter(providers);
  if (policy == TopologyPolicy::kSingleNumaNode) {
    // prefer-closest-numa-nodes does not apply to single-numa-node.
    TopologyHint best = HintMerger(numa, SingleNumaOnly(filtered), false).Merge();
    if (best.affinity && *best.affinity == numa.DefaultMask()) best.affinity.reset();
    return {best, best.preferred};
  }
  const TopologyHint best =
      HintMerger(numa, std::move(filtered), options.prefer_closest_numa).Merge();
  return {best, policy == TopologyPolicy::kBestEffort || best.preferred};
}

}  // namespace kvhost::kubelet
