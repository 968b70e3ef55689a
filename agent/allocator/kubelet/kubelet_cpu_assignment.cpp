#include "agent/allocator/kubelet/kubelet_cpu_assignment.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>

namespace kvhost::kubelet {
namespace {

// cpuAccumulator: `details` holds the CPUs still free, `result` those taken.
class Accumulator {
 public:
  Accumulator(const CpuTopology& topo, const CpuSet& available, int num_cpus)
      : topo_(topo),
        details_(available & topo.all()),
        needed_(num_cpus),
        numa_first_(topo.num_sockets() >= topo.num_numa_nodes()) {}

  const CpuTopology& topo() const { return topo_; }
  const CpuSet& details() const { return details_; }
  const CpuSet& result() const { return result_; }
  int needed() const { return needed_; }
  bool NeedsAtLeast(int n) const { return needed_ >= n; }
  bool IsSatisfied() const { return needed_ < 1; }
  bool IsFailed() const { return needed_ > static_cast<int>(details_.Count()); }

  void Take(const CpuSet& cpus) {
    result_ |= cpus;
    details_ -= result_;
    needed_ -= static_cast<int>(cpus.Count());
  }

  int FreeIn(Level level, int id) const {
    return static_cast<int>(topo_.CpusIn(details_, level, id).Count());
  }

  // Ascending free CPUs, ties by ascending id (cpuAccumulator.sort).
  void Sort(std::vector<int>& ids, Level level) const {
    std::map<int, int> free;
    for (int id : ids) free[id] = FreeIn(level, id);
    std::sort(ids.begin(), ids.end(),
              [&](int a, int b) { return free[a] != free[b] ? free[a] < free[b] : a < b; });
  }

  // The ids at `level` among the free CPUs of each group of `outer`, groups in
  // the given order, each group's ids sorted (numaFirst / socketsFirst).
  std::vector<int> SortWithin(const std::vector<int>& outer, Level outer_level, Level level) const {
    std::vector<int> out;
    for (int group : outer) {
      auto ids = topo_.Ids(topo_.CpusIn(details_, outer_level, group), level);
      Sort(ids, level);
      out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
  }
  std::vector<int> SortTop(Level level) const {
    auto ids = topo_.Ids(details_, level);
    Sort(ids, level);
    return ids;
  }

  std::vector<int> SortedNumaNodes() const {
    return numa_first_ ? SortTop(Level::kNuma)
                       : SortWithin(SortTop(Level::kSocket), Level::kSocket, Level::kNuma);
  }
  std::vector<int> SortedSockets() const {
    return numa_first_ ? SortWithin(SortTop(Level::kNuma), Level::kNuma, Level::kSocket)
                       : SortTop(Level::kSocket);
  }
  std::vector<int> SortedCores() const {
    return numa_first_ ? SortWithin(SortedSockets(), Level::kSocket, Level::kCore)
                       : SortWithin(SortedNumaNodes(), Level::kNuma, Level::kCore);
  }
  std::vector<int> SortedCpus() const {
    std::vector<int> out;
    for (int core : SortedCores())
      for (unsigned cpu : topo_.CpusIn(details_, Level::kCore, core).Ids())
        out.push_back(static_cast<int>(cpu));
    return out;
  }

  bool IsFree(Level level, int id) const {
    const int free = FreeIn(level, id);
    switch (level) {
      case Level::kNuma:
        return free == static_cast<int>(topo_.CpusIn(topo_.all(), Level::kNuma, id).Count());
      case Level::kSocket:
        return free == topo_.CpusPerSocket();
      case Level::kCore:
        return free == topo_.CpusPerCore();
    }
    return false;
  }
  std::vector<int> FreeOf(Level level, const std::vector<int>& sorted) const {
    std::vector<int> out;
    for (int id : sorted)
      if (IsFree(level, id)) out.push_back(id);
    return out;
  }
  std::vector<int> FreeNumaNodes() const { return FreeOf(Level::kNuma, SortedNumaNodes()); }
  std::vector<int> FreeSockets() const { return FreeOf(Level::kSocket, SortedSockets()); }
  std::vector<int> FreeCores() const { return FreeOf(Level::kCore, SortedCores()); }

  // takeFullNUMANodes / takeFullSockets / takeFullCores.
  void TakeFull(Level level) {
    for (int id : FreeOf(level, level == Level::kNuma     ? SortedNumaNodes()
                                : level == Level::kSocket ? SortedSockets()
                                                          : SortedCores())) {
      const CpuSet whole = topo_.CpusIn(topo_.all(), level, id);
      if (!NeedsAtLeast(static_cast<int>(whole.Count()))) continue;
      Take(whole);
    }
  }
  void TakeFullFirstLevel() { TakeFull(numa_first_ ? Level::kNuma : Level::kSocket); }
  void TakeFullSecondLevel() { TakeFull(numa_first_ ? Level::kSocket : Level::kNuma); }

  void TakeRemainingCpus() {
    for (int cpu : SortedCpus()) {
      CpuSet one;
      one.Add(static_cast<unsigned>(cpu));
      Take(one);
      if (IsSatisfied()) return;
    }
  }

  // rangeNUMANodesNeededToSatisfy.
  std::pair<int, int> NumaRange(int group) const {
    const int numa_nodes = static_cast<int>(topo_.Ids(topo_.all(), Level::kNuma).size());
    const int numa_available = static_cast<int>(topo_.Ids(details_, Level::kNuma).size());
    const int groups = (topo_.num_cpus() - 1) / group + 1;
    const int groups_per_numa = (groups - 1) / numa_nodes + 1;
    const int groups_needed = (needed_ - 1) / group + 1;
    return {(groups_needed - 1) / groups_per_numa + 1, std::min(groups_needed, numa_available)};
  }

 private:
  const CpuTopology& topo_;
  CpuSet details_;
  CpuSet result_;
  int needed_;
  bool numa_first_;
};

std::string NotEnough(int requested, const CpuSet& available) {
  return "not enough cpus available to satisfy request: requested=" + std::to_string(requested) +
         ", available=" + std::to_string(available.Count());
}

// kubelet rounds both the mean and the deviation to 3 decimals.
double StandardDeviation(const std::map<int, int>& values) {
  double sum = 0;
  for (const auto& [k, v] : values) sum += v;
  const double mean = std::round(sum / static_cast<double>(values.size()) * 1000) / 1000;
  double sq = 0;
  for (const auto& [k, v] : values) sq += (v - mean) * (v - mean);
  return std::round(std::sqrt(sq / static_cast<double>(values.size())) * 1000) / 1000;
}

// iterateCombinations; returns false when `f` asked to stop. Each combination
// is a fresh vector (kubelet's appends can share a backing array from k=4 on;
// the intent, and every case its tests check, is a copy).
bool ForEachCombination(const std::vector<int>& n, int k,
                        const std::function<bool(const std::vector<int>&)>& f,
                        std::vector<int>& accum, size_t start = 0) {
  if (k == 0) return f(accum);
  for (size_t i = start; i + static_cast<size_t>(k) <= n.size(); ++i) {
    accum.push_back(n[i]);
    const bool go_on = ForEachCombination(n, k - 1, f, accum, i + 1);
    accum.pop_back();
    if (!go_on) return false;
  }
  return true;
}
void IterateCombinations(const std::vector<int>& n, int k,
                         const std::function<bool(const std::vector<int>&)>& f) {
  if (k < 1) return;
  std::vector<int> accum;
  ForEachCombination(n, k, f, accum);
}

// The best way found so far to spread over one combination of NUMA nodes.
struct Spread {
  double balance = std::numeric_limits<double>::max();
  std::vector<int> combo, remainder_nodes;
};

// One NUMA combination of takeByTopologyNUMADistributed's search: can it hold
// the request in groups, and how balanced does it leave the nodes.
std::optional<Spread> ScoreCombination(const Accumulator& acc, const std::vector<int>& numas,
                                       const std::vector<int>& combo, int num_cpus, int group) {
  const CpuTopology& topo = acc.topo();
  const auto free_in = [&](int numa) {
    return static_cast<int>(topo.CpusIn(acc.details(), Level::kNuma, numa).Count());
  };
  if (static_cast<int>(topo.CpusIn(acc.details(), Level::kNuma, combo).Count()) < num_cpus)
    return std::nullopt;
  int groups = 0;
  for (int numa : combo) groups += free_in(numa) / group;
  if (groups * group < num_cpus) return std::nullopt;
  const int distribution = (num_cpus / static_cast<int>(combo.size()) / group) * group;
  for (int numa : combo)
    if (free_in(numa) < distribution) return std::nullopt;

  std::map<int, int> after;
  for (int numa : numas) after[numa] = free_in(numa);
  for (int numa : combo) after[numa] -= distribution;
  const int remainder = num_cpus - distribution * static_cast<int>(combo.size());
  std::vector<int> remainder_combo;
  for (int numa : combo)
    if (after[numa] >= group) remainder_combo.push_back(numa);

  Spread best;
  best.combo = combo;
  if (remainder == 0) best.balance = StandardDeviation(after);
  for (int k = static_cast<int>(remainder_combo.size()); remainder > 0 && k >= 1; --k) {
    IterateCombinations(remainder_combo, k, [&](const std::vector<int>& subset) {
      int left = remainder;
      auto trial = after;
      int room = 0;
      for (int numa : subset) room += trial[numa];
      if (room < left) return true;
      while (left > 0) {
        for (int numa : subset) {
          if (left == 0) break;
          if (trial[numa] < group) continue;
          trial[numa] -= group;
          left -= group;
        }
      }
      const double balance = StandardDeviation(trial);
      if (balance < best.balance) {
        best.balance = balance;
        best.remainder_nodes = subset;
      }
      return true;
    });
  }
  return best;
}

TakeResult AllocateSpread(Accumulator& acc, const Spread& spread, int num_cpus, int group) {
  const CpuTopology& topo = acc.topo();
  const int distribution = (num_cpus / static_cast<int>(spread.combo.size()) / group) * group;
  for (int numa : spread.combo)
    acc.Take(
        TakeByTopologyNumaPacked(topo, topo.CpusIn(acc.details(), Level::kNuma, numa), distribution)
            .cpus);
  int remainder = num_cpus - distribution * static_cast<int>(spread.combo.size());
  while (remainder > 0) {
    const int before = remainder;
    for (int numa : spread.remainder_nodes) {
      if (remainder == 0) break;
      const CpuSet there = topo.CpusIn(acc.details(), Level::kNuma, numa);
      if (static_cast<int>(there.Count()) < group) continue;
      acc.Take(TakeByTopologyNumaPacked(topo, there, group).cpus);
      remainder -= group;
    }
    if (remainder == before) break;  // kubelet would spin here; report its accounting error
  }
  if (acc.needed() > 0)
    return {CpuSet(), "accounting error, not enough CPUs allocated, remaining: " +
                          std::to_string(acc.needed())};
  if (acc.needed() < 0)
    return {CpuSet(), "accounting error, too many CPUs allocated, remaining: " +
                          std::to_string(acc.needed())};
  return {acc.result(), ""};
}

}  // namespace

TakeResult TakeByTopologyNumaPacked(const CpuTopology& topo, const CpuSet& available,
                                    int num_cpus) {
  Accumulator acc(topo, available, num_cpus);
  if (acc.IsSatisfied()) return {acc.result(), ""};
  if (acc.IsFailed()) return {CpuSet(), NotEnough(num_cpus, available)};
  acc.TakeFullFirstLevel();
  if (acc.IsSatisfied()) return {acc.result(), ""};
  acc.TakeFullSecondLevel();
  if (acc.IsSatisfied()) return {acc.result(), ""};
  acc.TakeFull(Level::kCore);
  if (acc.IsSatisfied()) return {acc.result(), ""};
  acc.TakeRemainingCpus();
  if (acc.IsSatisfied()) return {acc.result(), ""};
  return {CpuSet(), "failed to allocate cpus"};
}

AccumulatorView ViewAccumulator(const CpuTopology& topo, const CpuSet& available) {
  Accumulator acc(topo, available, 0);
  return {acc.FreeNumaNodes(), acc.FreeSockets(), acc.FreeCores(), acc.SortedCpus()};
}

}  // namespace kvhost::kubelet

namespace kvhost::kubelet {

TakeResult TakeByTopologyNumaDistributed(const CpuTopology& topo, const CpuSet& available,
                                         int num_cpus, int cpu_group_size) {
  if (num_cpus % cpu_group_size != 0) return TakeByTopologyNumaPacked(topo, available, num_cpus);
  Accumulator acc(topo, available, num_cpus);
  if (acc.IsSatisfied()) return {acc.result(), ""};
  if (acc.IsFailed()) return {CpuSet(), NotEnough(num_cpus, available)};
  const std::vector<int> numas = acc.SortedNumaNodes();
  const auto [min_numas, max_numas] = acc.NumaRange(cpu_group_size);
  for (int k = min_numas; k <= max_numas; ++k) {
    std::optional<Spread> best;
    IterateCombinations(numas, k, [&](const std::vector<int>& combo) {
      if (best && best->balance == 0) return false;
      auto spread = ScoreCombination(acc, numas, combo, num_cpus, cpu_group_size);
      if (spread && spread->balance < (best ? best->balance : std::numeric_limits<double>::max()))
        best = std::move(spread);
      return true;
    });
    if (best) return AllocateSpread(acc, *best, num_cpus, cpu_group_size);
  }
  return TakeByTopologyNumaPacked(topo, available, num_cpus);
}

}  // namespace kvhost::kubelet
