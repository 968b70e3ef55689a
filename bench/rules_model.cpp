#include "bench/rules_model.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "agent/allocator/agent/span_search.h"
#include "base/sizes.h"

namespace kvhost::bench {

NodeRulesModel::NodeRulesModel(const HostResources& host, RulesModelVariant variant)
    : totals_(host),
      tpc_(std::max(1u, host.threads_per_core)),
      allow_span_(host.allow_numa_span),
      choice_(variant.choice) {
  for (const auto& n : host.nodes) {
    Node node;
    node.cores = static_cast<unsigned>(n.cores.size());
    node.free_pages = n.hugepages_free;
    if (variant.one_node && !nodes_.empty()) {
      nodes_[0].cores += node.cores;
      for (const auto& [size, pages] : node.free_pages) nodes_[0].free_pages[size] += pages;
      continue;
    }
    nodes_.push_back(std::move(node));
  }
  if (variant.no_smt) {
    for (auto& node : nodes_) node.cores *= tpc_;
    tpc_ = 1;
  }
}

unsigned NodeRulesModel::FreeCores(size_t k) const {
  const Node& n = nodes_[k];
  return n.cores - n.vcpu_cores - (n.emulators + tpc_ - 1) / tpc_;
}

uint64_t NodeRulesModel::FreePages(size_t k, uint64_t page_kib) const {
  auto it = nodes_[k].free_pages.find(page_kib);
  return it == nodes_[k].free_pages.end() ? 0 : it->second;
}

NodeRulesModel::Take NodeRulesModel::EmptyTake(uint64_t page_kib) const {
  Take t;
  t.vcpu_cores.assign(nodes_.size(), 0);
  t.emulators.assign(nodes_.size(), 0);
  t.pages.assign(nodes_.size(), 0);
  t.page_kib = page_kib;
  return t;
}

bool NodeRulesModel::AddCell(size_t k, const InstanceType& type, unsigned vcpus, bool emulator,
                             Take& take) const {
  const unsigned cores = (vcpus + tpc_ - 1) / tpc_;
  unsigned emulators = 0, emulator_core = 0;
  if (emulator && (type.realtime || cores * tpc_ == vcpus)) {
    emulators = 1;
    // The node's emulator cores are full: this one opens another.
    if (nodes_[k].emulators % tpc_ == 0) emulator_core = 1;
  }
  if (cores + emulator_core > FreeCores(k)) return false;
  take.vcpu_cores[k] += cores;
  take.emulators[k] += emulators;
  take.cores_left += FreeCores(k) - cores - emulator_core;
  return true;
}

std::optional<NodeRulesModel::Take> NodeRulesModel::OneNode(const InstanceType& type) const {
  const uint64_t size = type.hugepage_size_kib;
  const uint64_t need = size ? PagesFor(type.memory_kib, size) : 0;
  std::optional<Take> best;
  uint64_t best_memory_left = 0;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    if (FreePages(k, size) < need) continue;
    Take t = EmptyTake(size);
    if (!AddCell(k, type, type.vcpus, type.isolate_emulator_thread, t)) continue;
    t.pages[k] = need;
    const uint64_t memory_left = size ? FreePages(k, size) - need : 0;
    const auto mine = std::make_pair(memory_left, t.cores_left);
    const auto theirs = best ? std::make_pair(best_memory_left, best->cores_left) : mine;
    bool better = !best;
    if (best && choice_ == NodeChoice::kOurs) better = mine < theirs;
    if (best && choice_ == NodeChoice::kWorstFit) better = mine > theirs;
    if (best && choice_ == NodeChoice::kCoresFirst)
      better =
          std::make_pair(mine.second, mine.first) < std::make_pair(theirs.second, theirs.first);
    if (better) {
      best = std::move(t);
      best_memory_left = memory_left;
    }
  }
  return best;
}

std::optional<NodeRulesModel::Take> NodeRulesModel::SpanOver(const InstanceType& type,
                                                             const std::vector<size_t>& set) const {
  // The allocator's own splits (span_search.h): vCPUs as even as the nodes'
  // free CPUs allow, memory in proportion to them.
  std::vector<unsigned> cpus, share;
  for (size_t k : set) cpus.push_back(FreeCores(k) * tpc_);
  std::vector<size_t> scratch;
  if (!span_search::SplitVcpus(type.vcpus, cpus, scratch, share)) return std::nullopt;
  size_t emulator_at = 0;  // the node with the most CPUs to spare
  for (size_t i = 1; i < set.size(); ++i)
    if (cpus[i] - share[i] > cpus[emulator_at] - share[emulator_at]) emulator_at = i;

  const uint64_t size = type.hugepage_size_kib;
  Take t = EmptyTake(size);
  for (size_t i = 0; i < set.size(); ++i)
    if (!AddCell(set[i], type, share[i], type.isolate_emulator_thread && i == emulator_at, t))
      return std::nullopt;
  if (!size) return t;
  std::vector<uint64_t> free, pages;
  for (size_t k : set) free.push_back(FreePages(k, size));
  if (!span_search::SplitMemory(PagesFor(type.memory_kib, size), share, type.vcpus, free, pages))
    return std::nullopt;
  for (size_t i = 0; i < set.size(); ++i) t.pages[set[i]] = pages[i];
  return t;
}

std::optional<NodeRulesModel::Take> NodeRulesModel::Span(const InstanceType& type) const {
  const size_t n = nodes_.size();
  for (size_t k = 2; k <= n && k <= type.vcpus; ++k) {
    std::optional<Take> best;
    std::vector<bool> chosen(n, false);
    std::fill(chosen.begin(), chosen.begin() + static_cast<long>(k), true);
    do {
      std::vector<size_t> set;
      for (size_t i = 0; i < n; ++i)
        if (chosen[i]) set.push_back(i);
      std::optional<Take> t = SpanOver(type, set);
      if (t && (!best || t->cores_left < best->cores_left)) best = std::move(t);
    } while (std::prev_permutation(chosen.begin(), chosen.end()));
    if (best) return best;
  }
  return std::nullopt;
}

std::optional<NodeRulesModel::Take> NodeRulesModel::SharedPages(const InstanceType& type) const {
  const uint64_t size = type.hugepage_size_kib;
  const uint64_t need = PagesFor(type.memory_kib, size);
  Take t = EmptyTake(size);
  std::optional<size_t> best;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    if (FreePages(k, size) < need) continue;
    if (!best || std::make_pair(FreeCores(k), FreePages(k, size)) <
                     std::make_pair(FreeCores(*best), FreePages(*best, size)))
      best = k;
  }
  if (best) {
    t.pages[*best] = need;
    return t;
  }
  std::vector<size_t> order(nodes_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return FreePages(x, size) > FreePages(y, size); });
  uint64_t left = need;
  for (size_t k : order) {
    t.pages[k] = std::min(left, FreePages(k, size));
    left -= t.pages[k];
  }
  if (left) return std::nullopt;
  return t;
}

bool NodeRulesModel::Admit(const InstanceType& type, unsigned vm) {
  if (!type.Dedicated() && !type.hugepage_size_kib) return totals_.Admit(type, vm);
  if (type.realtime && !totals_.RealtimeReady()) return false;
  std::optional<Take> take;
  if (!type.Dedicated()) {
    take = SharedPages(type);
  } else {
    take = OneNode(type);
    if (!take && allow_span_) take = Span(type);
  }
  if (!take) return false;
  // What is host-wide for ours too (shared slots, ordinary memory, GPUs) goes
  // to the fluid totals, without what the nodes already gave.
  InstanceType rest = type;
  rest.hugepage_size_kib = 0;
  if (type.hugepage_size_kib) rest.memory_kib = 0;
  if (type.Dedicated()) {
    rest.cpu = CpuPolicy::kShared;
    rest.vcpus = 0;
    rest.isolate_emulator_thread = false;
    rest.realtime = false;
  }
  if (!totals_.Admit(rest, vm)) return false;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    nodes_[k].vcpu_cores += take->vcpu_cores[k];
    nodes_[k].emulators += take->emulators[k];
    if (take->pages[k]) nodes_[k].free_pages[take->page_kib] -= take->pages[k];
  }
  held_.emplace(vm, std::move(*take));
  return true;
}

void NodeRulesModel::Depart(unsigned vm) {
  totals_.Depart(vm);
  auto it = held_.find(vm);
  if (it == held_.end()) return;  // held only host-wide totals
  const Take& t = it->second;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    nodes_[k].vcpu_cores -= t.vcpu_cores[k];
    nodes_[k].emulators -= t.emulators[k];
    if (t.pages[k]) nodes_[k].free_pages[t.page_kib] += t.pages[k];
  }
  held_.erase(it);
}

}  // namespace kvhost::bench
