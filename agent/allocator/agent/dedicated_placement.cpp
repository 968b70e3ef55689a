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

#include "agent/allocator/agent/agent_policy.h"
#include "agent/allocator/agent/node_fit.h"
#include "agent/allocator/agent/span_search.h"
#include "agent/allocator/refusal_text.h"

namespace kvhost {

using node_fit::FreeSnapshot;
using node_fit::NodeAsk;
using node_fit::NodeFitter;
using node_fit::NodeTry;
using node_fit::Shortfalls;

namespace {

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
    for (unsigned cpu : t.take.cpus) {
      p.vcpu_cpus.push_back(cpu);
      cell.vcpus.push_back(vcpu++);
    }
    cell.memory_kib = t.ask.memory_kib;
    if (t.take.emulator) p.emulator_cpu = t.take.emulator;
    if (type.hugepage_size_kib)
      p.hugepages.push_back({node_id, type.hugepage_size_kib, t.take.pages});
    p.guest_cells.push_back(std::move(cell));
  }
  if (!type.hugepage_size_kib) p.memory_kib = type.memory_kib;
  return p;
}

// One line per resource that no node has enough of; else one line per node.
void Explain(const Allocator& a, const InstanceType& type, const std::vector<NodeTry>& tries,
             RefusalLines& out) {
  if (tries.empty()) {
    out.push_back("no NUMA node with CPUs is in the dedicated pool");
    return;
  }
  auto all = [&](bool node_fit::NodeShortfalls::*shortfall) {
    return std::all_of(tries.begin(), tries.end(),
                       [&](const NodeTry& t) { return t.short_of.*shortfall; });
  };
  if (all(&node_fit::NodeShortfalls::cores)) {
    const NodeTry& most = *std::max_element(
        tries.begin(), tries.end(),
        [](const NodeTry& x, const NodeTry& y) { return x.free_cpus < y.free_cpus; });
    fmt::memory_buffer line;
    fmt::format_to(fmt::appender(line), FMT_COMPILE("no NUMA node has "));
    node_fit::AppendCpuNeed(line, type);
    fmt::format_to(fmt::appender(line), FMT_COMPILE("; most free: "));
    node_fit::AppendCoresShort(line, a, most);
    out.push_back({line.data(), line.size()});
  }
  if (all(&node_fit::NodeShortfalls::emulator))
    out.push_back("no NUMA node has a dedicated CPU left for the emulator thread");
  if (all(&node_fit::NodeShortfalls::pages)) {
    uint64_t most = 0;
    size_t at = 0;
    for (size_t i = 0; i < tries.size(); ++i) {
      const uint64_t f = a.FreeHugepages(i, type.hugepage_size_kib);
      if (f > most) most = f, at = i;
    }
    const uint64_t pages = PagesFor(type.memory_kib, type.hugepage_size_kib);
    const Kib memory{type.memory_kib}, size{type.hugepage_size_kib};
    if (most == 0)
      AddLine(out, FMT_COMPILE("no free {} hugepages on any NUMA node (need {} for {})"), size,
              pages, memory);
    else
      AddLine(out,
              FMT_COMPILE("not enough free {} hugepages on any NUMA node (most: {} on node {}; "
                          "need {} for {})"),
              size, most, a.host().nodes[at].id, pages, memory);
  }
  if (all(&node_fit::NodeShortfalls::memory))
    AddLine(out, FMT_COMPILE("no NUMA node has {} ordinary memory free"), Kib{type.memory_kib});
  if (!out.empty()) return;
  for (const auto& t : tries) node_fit::AddShortfallWords(a, type, t, out);
}

}  // namespace

PlaceResult PlaceDedicated(const Allocator& books, const InstanceType& type,
                           const std::string& vm) {
  const HostResources& host = books.host();
  PlaceResult result;
  const FreeSnapshot snap = node_fit::TakeSnapshot(books, type);
  const NodeFitter fitter(books, snap, type);
  std::vector<NodeTry> tries;
  // Best fit: the node left with the least free memory of this kind (pages are
  // the scarcer resource on hugepage hosts), then the fewest free CPUs.
  auto memory_left = [&](size_t ni) {
    return snap.memory_kib(ni) - std::min(snap.memory_kib(ni), type.memory_kib);
  };
  // The whole VM on node `ni`, the shared pool's ratio kept.
  auto try_node = [&](size_t ni, Shortfalls look_for) {
    NodeTry t =
        fitter.Try({ni, type.vcpus, type.memory_kib, type.isolate_emulator_thread}, {}, look_for);
    if (t.ok()) {
      CpuSet held;
      node_fit::AddHeldCpus(host, t, held);
      t.short_of.shared = node_fit::Squeezes(books, held);
    }
    return t;
  };
  {
    // Nodes by the memory they would have left, so that once one fits, the
    // nodes that would keep more (and so cannot be the best fit) need no try.
    // Ties keep node order, which is how the best fit breaks them.
    std::vector<std::pair<uint64_t, size_t>> order;
    order.reserve(host.nodes.size());
    for (size_t ni = 0; ni < host.nodes.size(); ++ni)
      if (snap.memory_kib(ni) >= type.memory_kib) order.emplace_back(memory_left(ni), ni);
    std::sort(order.begin(), order.end());
    std::optional<size_t> best;  // index into tries
    for (const auto& [left, ni] : order) {
      if (best && left > memory_left(tries[*best].ask.node)) break;
      NodeTry t = try_node(ni, Shortfalls::kFirst);
      if (!t.ok()) continue;
      if (!best || t.leftover < tries[*best].leftover) best = tries.size();
      tries.push_back(std::move(t));
    }
    if (best) {
      std::vector<NodeTry> chosen;  // moved, not copied: this is every single-node placement
      chosen.push_back(std::move(tries[*best]));
      result.placement = BuildPlacement(books, type, vm, {chosen[0].ask.node}, chosen);
      return result;
    }
  }
  if (host.allow_numa_span && host.nodes.size() > 1) {
    if (auto span = span_search::FindSpan(books, snap, type)) {
      result.placement = BuildPlacement(books, type, vm, span->nodes, span->tries);
      return result;
    }
  }
  // The refusal explains every node's every shortfall, which the tries above
  // stopped looking for at the first.
  tries.clear();
  tries.reserve(host.nodes.size());
  for (size_t ni = 0; ni < host.nodes.size(); ++ni) tries.push_back(try_node(ni, Shortfalls::kAll));
  Explain(books, type, tries, result.reasons);
  if (!host.allow_numa_span && host.nodes.size() > 1)
    result.reasons.push_back("spanning NUMA nodes is off (allowNumaSpan: false)");
  else if (host.nodes.size() > 1)
    result.reasons.push_back("no set of NUMA nodes fits it either");
  return result;
}

}  // namespace kvhost
