// Dedicated placement (CX, RT, N, D): whole physical cores for the vCPUs, one
// more CPU for the emulator thread, memory from the same NUMA node(s).
//
// Packing policy, chosen to leave the most room for future VMs:
//  - one node when any fits; among those the tightest fit (best fit), so the
//    big free blocks stay whole for big VMs;
//  - inside a node, cores from the smallest L3 group that holds them all;
//  - the emulator takes the idle sibling the VM's own vCPUs leave in their
//    last core (KubeVirt's AlignCPUs layout; not for realtime types), else a
//    core other emulator threads already share, and opens a fresh core last;
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

// Memory is split in units: one hugepage, or 1 MiB of ordinary memory.
uint64_t MemoryUnitKib(const InstanceType& type) {
  return type.hugepage_size_kib ? type.hugepage_size_kib : 1024;
}

// Memory units per span node: in proportion to the node's vCPUs where its
// free memory allows, the rest from the nodes with memory to spare, so a node
// short of pages can still lend its cores. Every node backs at least one unit
// (each guest cell has memory). Empty when the nodes cannot back it all.
std::vector<uint64_t> SplitMemory(uint64_t units, const std::vector<unsigned>& vcpus,
                                  unsigned total_vcpus, const std::vector<uint64_t>& free) {
  std::vector<uint64_t> take(vcpus.size());
  uint64_t given = 0;
  for (size_t k = 0; k < vcpus.size(); ++k) {
    take[k] = std::min(std::max<uint64_t>(1, units * vcpus[k] / total_vcpus), free[k]);
    if (take[k] == 0) return {};
    given += take[k];
  }
  if (given > units) return {};  // fewer units than nodes
  for (size_t k = 0; k < take.size() && given < units; ++k) {
    const uint64_t more = std::min(units - given, free[k] - take[k]);
    take[k] += more;
    given += more;
  }
  if (given < units) return {};
  return take;
}

// vCPUs per node as even as the nodes' free CPUs allow (water-filling, the
// smallest node first), every node at least one. Empty when they cannot hold them.
std::vector<unsigned> SplitVcpus(unsigned vcpus, const std::vector<unsigned>& cpus) {
  std::vector<size_t> order(cpus.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return cpus[x] < cpus[y]; });
  std::vector<unsigned> share(cpus.size());
  unsigned left = vcpus;
  for (size_t i = 0; i < order.size(); ++i) {
    const unsigned nodes_left = static_cast<unsigned>(order.size() - i);
    share[order[i]] = std::min(cpus[order[i]], (left + nodes_left - 1) / nodes_left);
    if (share[order[i]] == 0) return {};  // a node that adds nothing is not one of the fewest
    left -= share[order[i]];
  }
  if (left > 0) return {};
  return share;
}

// Splits vCPUs over `nodes` (SplitVcpus; the emulator on the node with the
// most CPUs to spare), then memory (SplitMemory). Guest cells mirror the result.
std::optional<SpanPlan> TrySpan(const Allocator& a, const FreeSnapshot& snap,
                                const std::vector<size_t>& nodes, const InstanceType& type) {
  const HostResources& host = a.host();
  std::vector<unsigned> cpus;
  for (size_t ni : nodes) cpus.push_back(snap.cpus[ni]);
  std::vector<unsigned> shares = SplitVcpus(type.vcpus, cpus);
  if (shares.empty()) return std::nullopt;
  size_t first = 0;  // where the emulator goes; its node is tried first
  for (size_t k = 1; k < nodes.size(); ++k)
    if (cpus[k] - shares[k] > cpus[first] - shares[first]) first = k;
  std::vector<size_t> order{first};
  for (size_t k = 0; k < nodes.size(); ++k)
    if (k != first) order.push_back(k);

  SpanPlan plan;
  CpuSet taken;
  for (size_t k : order) {
    const bool emulator_here = plan.nodes.empty() && type.isolate_emulator_thread;
    // Memory is checked once the split is known, below.
    auto attempt = [&] {
      return TryNode(a, snap, nodes[k], shares[k], 0, type, emulator_here, taken);
    };
    NodeTry t = attempt();
    // The emulator may need room on this node: give one of its vCPUs (a core's
    // worth for realtime types, whose emulator may not use an idle sibling) to
    // nodes with CPUs to spare.
    const unsigned step = type.realtime ? host.threads_per_core : 1;
    if (!t.ok && emulator_here && shares[k] > step) {
      unsigned moved = 0;
      for (size_t j = 0; j < nodes.size() && moved < step; ++j) {
        if (j == k) continue;
        const unsigned more = std::min(step - moved, cpus[j] - shares[j]);
        shares[j] += more;
        moved += more;
      }
      if (moved < step) return std::nullopt;
      shares[k] -= step;
      t = attempt();
    }
    if (!t.ok) return std::nullopt;
    for (unsigned c : t.cores) taken |= host.cores[c].pus;
    if (t.emulator) taken.Add(*t.emulator);
    plan.nodes.push_back(nodes[k]);
    plan.leftover += t.leftover;
    plan.tries.push_back(std::move(t));
  }
  std::vector<unsigned> planned;  // shares in plan order
  for (size_t k : order) planned.push_back(shares[k]);
  shares = planned;

  const uint64_t unit = MemoryUnitKib(type);
  std::vector<uint64_t> free_units;
  for (size_t ni : plan.nodes) free_units.push_back(snap.memory_kib[ni] / unit);
  const std::vector<uint64_t> units =
      SplitMemory(PagesFor(type.memory_kib, unit), shares, type.vcpus, free_units);
  if (units.empty()) return std::nullopt;
  uint64_t memory_left = type.memory_kib;
  for (size_t k = 0; k < plan.tries.size(); ++k) {
    NodeTry& t = plan.tries[k];
    // The last cell takes what is left when the memory is not a whole number of units.
    t.memory_kib = k + 1 == plan.tries.size() ? memory_left : units[k] * unit;
    t.pages = PagesFor(t.memory_kib, type.hugepage_size_kib);
    memory_left -= t.memory_kib;
  }
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
  // Spanning can only help when the nodes together hold enough: a node adds
  // the CPUs of its free cores and its free memory, and must add some of each.
  // Checking those sums before searching subsets keeps the search (capacity's
  // costly part) short.
  const uint64_t unit = MemoryUnitKib(type);
  const uint64_t units = PagesFor(type.memory_kib, unit);
  const bool may_span = host_->allow_numa_span && host_->nodes.size() > 1;
  std::vector<unsigned> most_cpus;
  std::vector<uint64_t> most_units;
  for (size_t ni = 0; may_span && ni < host_->nodes.size(); ++ni)  // not needed otherwise
    if (snap.cpus[ni] > 0 && snap.memory_kib[ni] >= unit) {
      most_cpus.push_back(snap.cpus[ni]);
      most_units.push_back(snap.memory_kib[ni] / unit);
    }
  std::sort(most_cpus.rbegin(), most_cpus.rend());
  std::sort(most_units.rbegin(), most_units.rend());
  auto enough = [&](const std::vector<size_t>& nodes) {
    unsigned cpus = 0;
    uint64_t memory = 0;
    for (size_t ni : nodes) {
      // A node that adds nothing is not one of the fewest.
      if (snap.cpus[ni] == 0 || snap.memory_kib[ni] < unit) return false;
      cpus += snap.cpus[ni];
      memory += snap.memory_kib[ni] / unit;
    }
    return cpus >= type.vcpus && memory >= units;
  };
  if (may_span) {
    unsigned best_k_cpus = most_cpus.empty() ? 0 : most_cpus[0];
    uint64_t best_k_units = most_units.empty() ? 0 : most_units[0];
    for (size_t k = 2; k <= most_cpus.size(); ++k) {  // larger sets include a node adding nothing
      best_k_cpus += most_cpus[k - 1];
      best_k_units += most_units[k - 1];
      if (best_k_cpus < type.vcpus || best_k_units < units) continue;  // no k nodes can hold it
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
