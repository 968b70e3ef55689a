// Shared placement (U, O, M, GN): vCPUs float on the shared pool within the
// vCPU:pCPU ratio; memory is ordinary (overcommitted for O) or, for M,
// hugepages from the node whose pages dedicated VMs could use least.
#include <algorithm>
#include <numeric>
#include <optional>

#include "agent/allocator/agent/agent_policy.h"
#include "agent/allocator/refusal_text.h"

namespace kvhost {
namespace {

// Each Take* adds why not to `refused`, or takes its share into the placement.

// vCPU slots: the pool as it is now, within the vCPU:CPU ratio.
void TakeSlots(const Allocator& a, const InstanceType& type, unsigned pool_cpus,
               RefusalLines& refused) {
  const unsigned slots = a.host().SharedSlotsFor(pool_cpus);
  const Ratio ratio{a.host().shared_cpu_ratio};
  if (pool_cpus == 0)
    refused.push_back("no shared CPUs: every online CPU is isolated, reserved or dedicated");
  else if (type.vcpus > slots)
    AddLine(refused,
            FMT_COMPILE("shared pool too small: {} vCPU slots ({} CPUs x ratio {}), needs {}"),
            slots, pool_cpus, ratio, type.vcpus);
  else if (a.SharedVcpusUsed() + type.vcpus > slots)
    AddLine(
        refused,
        FMT_COMPILE("shared pool full: {} of {} vCPU slots used ({} CPUs x ratio {}), needs {}"),
        a.SharedVcpusUsed(), slots, pool_cpus, ratio, type.vcpus);
}

// `need` pages that no node holds alone: from the nodes with most pages first
// (the fewest nodes). Only this case needs the nodes in a list.
void SpreadHugepages(const Allocator& a, uint64_t size, uint64_t need, Placement& p) {
  std::vector<size_t> order(a.host().nodes.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return a.FreeHugepages(x, size) > a.FreeHugepages(y, size);
  });
  uint64_t left = need;
  for (size_t ni : order) {
    const uint64_t take = std::min(left, a.FreeHugepages(ni, size));
    if (take) p.hugepages.push_back({a.host().nodes[ni].id, size, take});
    left -= take;
    if (!left) break;
  }
}

// m1: hugepages from one node, the one with the fewest free dedicated cores,
// whose pages dedicated VMs (which need cores and pages on one node) could use
// least; then the tightest fit. Spread over nodes when no node holds them.
void TakeHugepages(const Allocator& a, const InstanceType& type, Placement& p,
                   RefusalLines& refused) {
  const uint64_t size = type.hugepage_size_kib;
  const uint64_t need = PagesFor(type.memory_kib, size);
  std::optional<size_t> best;
  std::pair<unsigned, uint64_t> best_key;
  uint64_t total_free = 0;
  for (size_t ni = 0; ni < a.host().nodes.size(); ++ni) {
    const uint64_t f = a.FreeHugepages(ni, size);
    total_free += f;
    if (f < need) continue;
    const std::pair<unsigned, uint64_t> key{a.FreeCoreCount(ni), f};
    if (!best || key < best_key) best = ni, best_key = key;
  }
  if (best) {
    p.hugepages.push_back({a.host().nodes[*best].id, size, need});
  } else if (total_free >= need) {
    SpreadHugepages(a, size, need, p);
  } else if (total_free == 0) {
    return AddLine(refused, FMT_COMPILE("no free {} hugepages on any NUMA node (need {} for {})"),
                   Kib{size}, need, Kib{type.memory_kib});
  } else {
    return AddLine(refused,
                   FMT_COMPILE("only {} free {} hugepages on all NUMA nodes (need {} for {})"),
                   total_free, Kib{size}, need, Kib{type.memory_kib});
  }
  for (const auto& g : p.hugepages) p.numa_nodes.push_back(g.node);
}

// Ordinary memory, unbound: what KubeVirt's pod requests (less the overcommit).
void TakeOrdinaryMemory(const Allocator& a, const InstanceType& type, Placement& p,
                        RefusalLines& refused) {
  p.memory_kib = type.ReservedMemoryKib();
  const uint64_t free = a.FreeOrdinaryMemoryKib();
  if (p.memory_kib <= free) return;
  if (type.overcommit_percent)
    AddLine(refused, FMT_COMPILE("{} ordinary memory free, needs {} ({} at {}% overcommit)"),
            Kib{free}, Kib{p.memory_kib}, Kib{type.memory_kib}, type.overcommit_percent);
  else
    AddLine(refused, FMT_COMPILE("{} ordinary memory free, needs {}"), Kib{free},
            Kib{p.memory_kib});
}

}  // namespace

PlaceResult PlaceShared(const Allocator& books, const InstanceType& type, const std::string& vm) {
  PlaceResult r;
  CpuSet pool = books.SharedPoolNow();
  TakeSlots(books, type, pool.Count(), r.reasons);
  Placement p;  // its names and pool are filled in only once it fits
  p.shared_vcpus = type.vcpus;
  p.gpus = type.gpus;
  if (type.gpus)
    p.gpu_device = type.gpu_device_names.empty() ? "gpu" : type.gpu_device_names.front();
  if (type.hugepage_size_kib)
    TakeHugepages(books, type, p, r.reasons);
  else
    TakeOrdinaryMemory(books, type, p, r.reasons);
  if (!r.reasons.empty()) return r;
  p.vm = vm;
  p.instance_type = type.name;
  p.shared_cpus = std::move(pool);
  r.placement = std::move(p);
  return r;
}

}  // namespace kvhost
