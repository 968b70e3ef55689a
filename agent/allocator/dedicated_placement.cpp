// Dedicated placement (CX, RT, N, D): whole physical cores for the vCPUs, one
// more CPU for the emulator thread, memory from the same NUMA node(s).
//
// Packing policy, chosen to leave the most room for future VMs:
//  - one node when any fits; among those the tightest fit (best fit), so the
//    big free blocks stay whole for big VMs;
//  - inside a node, cores from the smallest L3 group that holds them all;
//  - emulator threads share cores with other emulator threads before they
//    open a fresh core, and never sit on a sibling of a vCPU;
//  - otherwise the fewest nodes, closest first (SLIT), with guest NUMA cells
//    mirroring how the vCPUs and memory were split.
#include <algorithm>
#include <functional>
#include <numeric>

#include "agent/allocator/allocator.h"
#include "agent/allocator/node_fit.h"
#include "agent/allocator/units.h"

namespace kvhost {

using node_fit::CpuNeed;
using node_fit::FreeSnapshot;
using node_fit::NodeTry;
using node_fit::SharedSqueeze;
using node_fit::TakeSnapshot;
using node_fit::TryNode;

namespace {

struct SpanPlan {
  std::vector<size_t> nodes;  // node indexes, emulator on the first
  std::vector<NodeTry> tries;
  unsigned distance = 0;
  unsigned leftover = 0;
};

// Splits vCPUs over `nodes` and memory in proportion. A node takes no more
// vCPUs than its free memory (pages) can back at the VM's memory per vCPU, so
// a VM whose memory outgrows one node's pool still finds a split.
std::optional<SpanPlan> TrySpan(const Allocator& a, const FreeSnapshot& snap,
                                const std::vector<size_t>& nodes, const InstanceType& type) {
  const HostResources& host = a.host();
  std::vector<unsigned> room(nodes.size());  // vCPUs each node can take
  for (size_t k = 0; k < nodes.size(); ++k) {
    const uint64_t by_memory =
        snap.memory_kib[nodes[k]] * type.vcpus / std::max<uint64_t>(1, type.memory_kib);
    room[k] = static_cast<unsigned>(std::min<uint64_t>(snap.cpus[nodes[k]], by_memory));
  }
  std::vector<size_t> order(nodes.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return room[x] > room[y]; });
  SpanPlan plan;
  unsigned remaining = type.vcpus;
  uint64_t memory_left = type.memory_kib;
  CpuSet taken;
  for (size_t k : order) {
    const bool emulator_here = plan.nodes.empty() && type.isolate_emulator_thread;
    unsigned share = std::min(remaining, room[k]);
    if (share == 0) return std::nullopt;  // a node that adds nothing is not one of the fewest
    auto attempt = [&](unsigned vcpus) {
      const bool last = vcpus == remaining;
      const uint64_t mem = last ? memory_left : type.memory_kib * vcpus / type.vcpus;
      return TryNode(a, snap, nodes[k], vcpus, mem, type, emulator_here, taken);
    };
    NodeTry t = attempt(share);
    // The emulator may need one of the node's free cores: give the vCPUs one core less.
    if (!t.ok && emulator_here && share > host.threads_per_core)
      t = attempt(share -= host.threads_per_core);
    if (!t.ok) return std::nullopt;
    for (unsigned c : t.cores) taken |= host.cores[c].pus;
    if (t.emulator) taken.Add(*t.emulator);
    remaining -= share;
    memory_left -= t.memory_kib;
    plan.nodes.push_back(nodes[k]);
    plan.leftover += t.leftover;
    plan.tries.push_back(std::move(t));
  }
  if (remaining > 0) return std::nullopt;
  for (size_t i = 0; i < plan.nodes.size(); ++i)
    for (size_t j = i + 1; j < plan.nodes.size(); ++j)
      plan.distance += host.distance[plan.nodes[i]][plan.nodes[j]];
  return plan;
}

// Every k-subset of nodes (bounded: hosts have at most a few dozen nodes).
void ForEachSubset(size_t n, size_t k, const std::function<void(const std::vector<size_t>&)>& f) {
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

Placement BuildPlacement(const Allocator& a, const InstanceType& type, const std::string& vm,
                         const std::vector<size_t>& nodes, const std::vector<NodeTry>& tries) {
  Placement p;
  p.vm = vm;
  p.instance_type = type.name;
  p.dedicated = true;
  unsigned vcpu = 0;
  for (size_t k = 0; k < nodes.size(); ++k) {
    const NodeTry& t = tries[k];
    const unsigned node_id = a.host().nodes[nodes[k]].id;
    p.numa_nodes.push_back(node_id);
    GuestNumaCell cell;
    cell.host_node = node_id;
    for (unsigned cpu : t.cpus) {
      p.vcpu_cpus.push_back(cpu);
      cell.vcpus.push_back(vcpu++);
    }
    cell.memory_kib = t.memory_kib;
    if (t.emulator) p.emulator_cpu = t.emulator;
    if (type.hugepage_size_kib) p.hugepages.push_back({node_id, type.hugepage_size_kib, t.pages});
    p.guest_cells.push_back(std::move(cell));
  }
  if (!type.hugepage_size_kib) p.memory_kib = type.memory_kib;
  return p;
}

// One line per resource that no node has enough of; else one line per node.
std::vector<std::string> Explain(const Allocator& a, const InstanceType& type,
                                 const std::vector<NodeTry>& tries) {
  std::vector<std::string> out;
  if (tries.empty()) return {"no NUMA node with CPUs is in the dedicated pool"};
  auto all = [&](auto member) {
    return std::all_of(tries.begin(), tries.end(),
                       [&](const NodeTry& t) { return !(t.*member).empty(); });
  };
  auto best = [&](auto key) -> const NodeTry& {
    return *std::max_element(tries.begin(), tries.end(),
                             [&](const NodeTry& x, const NodeTry& y) { return key(x) < key(y); });
  };
  if (all(&NodeTry::cores_short))
    out.push_back(StrCat({"no NUMA node has ", CpuNeed(type), "; most free: ",
                          best([](const NodeTry& t) { return t.free_cpus; }).cores_short}));
  if (all(&NodeTry::emulator_short))
    out.push_back("no NUMA node has a dedicated CPU left for the emulator thread");
  if (all(&NodeTry::pages_short)) {
    uint64_t most = 0;
    size_t at = 0;
    for (size_t i = 0; i < tries.size(); ++i) {
      const uint64_t f = a.FreeHugepages(i, type.hugepage_size_kib);
      if (f > most) most = f, at = i;
    }
    const std::string need =
        StrCat({"need ", std::to_string(PagesFor(type.memory_kib, type.hugepage_size_kib)), " for ",
                FormatKib(type.memory_kib)});
    const std::string size = FormatKib(type.hugepage_size_kib);
    out.push_back(
        most == 0 ? StrCat({"no free ", size, " hugepages on any NUMA node (", need, ")"})
                  : StrCat({"not enough free ", size,
                            " hugepages on any NUMA node (most: ", std::to_string(most),
                            " on node ", std::to_string(a.host().nodes[at].id), "; ", need, ")"}));
  }
  if (all(&NodeTry::memory_short))
    out.push_back(
        StrCat({"no NUMA node has ", FormatKib(type.memory_kib), " ordinary memory free"}));
  if (!out.empty()) return out;
  for (const auto& t : tries) {
    std::string line;
    for (const auto* s :
         {&t.cores_short, &t.emulator_short, &t.pages_short, &t.memory_short, &t.shared_short})
      if (!s->empty()) line += (line.empty() ? "" : "; ") + *s;
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

PlaceResult Allocator::PlaceDedicated(const InstanceType& type, const std::string& vm) const {
  PlaceResult result;
  const FreeSnapshot snap = TakeSnapshot(*this, type);
  std::vector<NodeTry> tries;
  tries.reserve(host_->nodes.size());
  std::optional<size_t> best;
  // Best fit: the node left with the least free memory of this kind (pages are
  // the scarcer resource on hugepage hosts), then the fewest free CPUs.
  auto fit_key = [&](size_t ni, const NodeTry& t) {
    return std::make_pair(snap.memory_kib[ni] - std::min(snap.memory_kib[ni], type.memory_kib),
                          t.leftover);
  };
  for (size_t ni = 0; ni < host_->nodes.size(); ++ni) {
    NodeTry t = TryNode(*this, snap, ni, type.vcpus, type.memory_kib, type,
                        type.isolate_emulator_thread, {});
    if (t.ok) {
      CpuSet held;
      for (unsigned c : t.cores) held |= host_->cores[c].pus;
      if (t.emulator) held.Add(*t.emulator);
      t.shared_short = SharedSqueeze(*this, held);
      t.ok = t.shared_short.empty();
    }
    if (t.ok && (!best || fit_key(ni, t) < fit_key(*best, tries[*best]))) best = ni;
    tries.push_back(std::move(t));
  }
  if (best) {
    std::vector<NodeTry> chosen;  // moved, not copied: this is every single-node placement
    chosen.push_back(std::move(tries[*best]));
    result.placement = BuildPlacement(*this, type, vm, {*best}, chosen);
    return result;
  }
  // Spanning can only help when the nodes together hold enough: a node takes at
  // most the vCPUs its free cores hold and its free memory backs. Checking those
  // sums before searching subsets keeps the search (capacity's costly part) short.
  const bool may_span = host_->allow_numa_span && host_->nodes.size() > 1;
  std::vector<unsigned> room(may_span ? host_->nodes.size() : 0);  // not needed otherwise
  for (size_t ni = 0; ni < room.size(); ++ni)
    room[ni] = static_cast<unsigned>(std::min<uint64_t>(
        snap.cpus[ni], snap.memory_kib[ni] * type.vcpus / std::max<uint64_t>(1, type.memory_kib)));
  std::vector<unsigned> most_room = room;
  std::sort(most_room.rbegin(), most_room.rend());
  auto enough = [&](const std::vector<size_t>& nodes) {
    unsigned vcpus = 0;
    for (size_t ni : nodes) {
      if (room[ni] == 0) return false;  // a node that adds nothing is not one of the fewest
      vcpus += room[ni];
    }
    return vcpus >= type.vcpus;
  };
  if (may_span) {
    unsigned best_k_room = most_room[0];
    for (size_t k = 2; k <= host_->nodes.size(); ++k) {
      if (most_room[k - 1] == 0) break;  // every set this large has a node that adds nothing
      best_k_room += most_room[k - 1];
      if (best_k_room < type.vcpus) continue;  // no k nodes can hold it
      std::optional<SpanPlan> chosen;
      ForEachSubset(host_->nodes.size(), k, [&](const std::vector<size_t>& subset) {
        if (!enough(subset)) return;
        unsigned distance = 0;  // cheap to sum; a farther set than the best found cannot win
        for (size_t i = 0; i < subset.size(); ++i)
          for (size_t j = i + 1; j < subset.size(); ++j)
            distance += host_->distance[subset[i]][subset[j]];
        if (chosen && distance > chosen->distance) return;
        auto plan = TrySpan(*this, snap, subset, type);
        if (!plan) return;
        CpuSet held;
        for (const auto& t : plan->tries) {
          for (unsigned c : t.cores) held |= host_->cores[c].pus;
          if (t.emulator) held.Add(*t.emulator);
        }
        if (!SharedSqueeze(*this, held).empty()) return;
        if (!chosen ||
            std::tie(plan->distance, plan->leftover) < std::tie(chosen->distance, chosen->leftover))
          chosen = std::move(plan);
      });
      if (chosen) {
        result.placement = BuildPlacement(*this, type, vm, chosen->nodes, chosen->tries);
        return result;
      }
    }
  }
  result.reasons = Explain(*this, type, tries);
  if (!host_->allow_numa_span && host_->nodes.size() > 1)
    result.reasons.push_back("spanning NUMA nodes is off (allowNumaSpan: false)");
  else if (host_->nodes.size() > 1)
    result.reasons.push_back("no set of NUMA nodes fits it either");
  return result;
}

}  // namespace kvhost
