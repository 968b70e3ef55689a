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

#include "agent/allocator/allocator.h"
#include "agent/allocator/node_fit.h"
#include "agent/allocator/span_search.h"
#include "agent/allocator/units.h"

namespace kvhost {

using node_fit::AppendCoresShort;
using node_fit::AppendCpuNeed;
using node_fit::CoresShort;
using node_fit::EmulatorShort;
using node_fit::FreeSnapshot;
using node_fit::MemoryShort;
using node_fit::NodeTry;
using node_fit::PagesShort;
using node_fit::SharedSqueeze;
using node_fit::TakeSnapshot;
using node_fit::TryNode;

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
  if (tries.empty()) return {"no NUMA node with CPUs is in the dedicated pool"};
  std::vector<std::string> out;
  // A line per resource or per node, and PlaceDedicated's about spanning: no regrowth.
  out.reserve(std::max<size_t>(4, tries.size()) + 1);
  auto all = [&](bool NodeTry::*member) {
    return std::all_of(tries.begin(), tries.end(), [&](const NodeTry& t) { return t.*member; });
  };
  auto best = [&](auto key) -> const NodeTry& {
    return *std::max_element(tries.begin(), tries.end(),
                             [&](const NodeTry& x, const NodeTry& y) { return key(x) < key(y); });
  };
  if (all(&NodeTry::cores_short)) {
    std::string line;
    line.reserve(160);  // the whole line: its parts are appended without regrowing it
    StrAppend(line, {"no NUMA node has "});
    AppendCpuNeed(line, type);
    StrAppend(line, {"; most free: "});
    AppendCoresShort(line, a, best([](const NodeTry& t) { return t.free_cpus; }));
    out.push_back(std::move(line));
  }
  if (all(&NodeTry::emulator_short))
    out.push_back("no NUMA node has a dedicated CPU left for the emulator thread");
  if (all(&NodeTry::pages_short)) {
    uint64_t most = 0;
    size_t at = 0;
    for (size_t i = 0; i < tries.size(); ++i) {
      const uint64_t f = a.FreeHugepages(i, type.hugepage_size_kib);
      if (f > most) most = f, at = i;
    }
    // Short pieces, joined once: "need 1024 for 2Gi".
    const Decimal pages(PagesFor(type.memory_kib, type.hugepage_size_kib));
    const Kib memory(type.memory_kib), size(type.hugepage_size_kib);
    out.push_back(most == 0 ? StrCat({"no free ", size, " hugepages on any NUMA node (need ", pages,
                                      " for ", memory, ")"})
                            : StrCat({"not enough free ", size,
                                      " hugepages on any NUMA node (most: ", Decimal(most),
                                      " on node ", Decimal(a.host().nodes[at].id), "; need ", pages,
                                      " for ", memory, ")"}));
  }
  if (all(&NodeTry::memory_short))
    out.push_back(StrCat({"no NUMA node has ", Kib(type.memory_kib), " ordinary memory free"}));
  if (!out.empty()) return out;
  for (const auto& t : tries) {
    std::string line;
    auto add = [&](const std::string& s) {
      if (s.empty()) return;
      if (!line.empty()) line += "; ";
      line += s;
    };
    if (t.cores_short) add(CoresShort(a, t));
    if (t.emulator_short) add(EmulatorShort(a, t));
    if (t.pages_short) add(PagesShort(a, t, type));
    if (t.memory_short) add(MemoryShort(a, t));
    add(t.shared_short);
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

PlaceResult Allocator::PlaceDedicated(const InstanceType& type, const std::string& vm) const {
  PlaceResult result;
  const FreeSnapshot snap = TakeSnapshot(*this, type);
  std::vector<NodeTry> tries;
  // Best fit: the node left with the least free memory of this kind (pages are
  // the scarcer resource on hugepage hosts), then the fewest free CPUs.
  auto memory_left = [&](size_t ni) {
    return snap.memory_kib(ni) - std::min(snap.memory_kib(ni), type.memory_kib);
  };
  auto try_node = [&](size_t ni, bool every_failure) {
    NodeTry t = TryNode(*this, snap, ni, type.vcpus, type.memory_kib, type,
                        type.isolate_emulator_thread, {}, every_failure);
    if (t.ok) {
      CpuSet held;
      node_fit::AddHeldCpus(*host_, t, held);
      t.shared_short = SharedSqueeze(*this, held);
      t.ok = t.shared_short.empty();
    }
    return t;
  };
  {
    // Nodes by the memory they would have left, so that once one fits, the
    // nodes that would keep more (and so cannot be the best fit) need no try.
    // Ties keep node order, which is how the best fit breaks them.
    std::vector<std::pair<uint64_t, size_t>> order;
    order.reserve(host_->nodes.size());
    for (size_t ni = 0; ni < host_->nodes.size(); ++ni)
      if (snap.memory_kib(ni) >= type.memory_kib) order.emplace_back(memory_left(ni), ni);
    std::sort(order.begin(), order.end());
    std::optional<size_t> best;  // index into tries
    for (const auto& [left, ni] : order) {
      if (best && left > memory_left(tries[*best].node)) break;
      NodeTry t = try_node(ni, false);
      if (!t.ok) continue;
      if (!best || t.leftover < tries[*best].leftover) best = tries.size();
      tries.push_back(std::move(t));
    }
    if (best) {
      std::vector<NodeTry> chosen;  // moved, not copied: this is every single-node placement
      chosen.push_back(std::move(tries[*best]));
      result.placement = BuildPlacement(*this, type, vm, {chosen[0].node}, chosen);
      return result;
    }
  }
  if (host_->allow_numa_span && host_->nodes.size() > 1) {
    if (auto span = span_search::FindSpan(*this, snap, type)) {
      result.placement = BuildPlacement(*this, type, vm, span->nodes, span->tries);
      return result;
    }
  }
  // The refusal explains every node's every shortfall, which the tries above
  // stopped looking for at the first.
  tries.clear();
  tries.reserve(host_->nodes.size());
  for (size_t ni = 0; ni < host_->nodes.size(); ++ni) tries.push_back(try_node(ni, true));
  result.reasons = Explain(*this, type, tries);
  if (!host_->allow_numa_span && host_->nodes.size() > 1)
    result.reasons.push_back("spanning NUMA nodes is off (allowNumaSpan: false)");
  else if (host_->nodes.size() > 1)
    result.reasons.push_back("no set of NUMA nodes fits it either");
  return result;
}

}  // namespace kvhost
