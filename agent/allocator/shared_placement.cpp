// Shared placement (U, O, M, GN): vCPUs float on the shared pool within the
// vCPU:pCPU ratio; memory is ordinary (overcommitted for O) or, for M,
// hugepages from the node whose pages dedicated VMs could use least.
#include <algorithm>
#include <charconv>
#include <numeric>

#include "agent/allocator/allocator.h"
#include "agent/allocator/units.h"

namespace kvhost {
namespace {

// std::to_string's "%f" without its trailing zeros. to_chars prints what
// "%f" prints, without the snprintf that made it most of a refusal's cost.
std::string Ratio(double r) {
  // Whole ratios (the usual 1, 2, 4) print as their integer: "%f" of an
  // integral double below 2^53 is exactly it and ".000000", all trimmed.
  // Integer digits cost a tenth of to_chars' shortest-double machinery.
  if (r >= 1 && r < 9007199254740992.0 && r == static_cast<double>(static_cast<uint64_t>(r)))
    return std::string(Decimal(static_cast<uint64_t>(r)));
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, r, std::chars_format::fixed, 6);
  std::string s = ec == std::errc() ? std::string(buf, end) : std::to_string(r);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

PlaceResult Allocator::PlaceShared(const InstanceType& type, const std::string& vm) const {
  PlaceResult r;
  auto refuse = [&](std::string why) {
    if (r.reasons.empty()) r.reasons.reserve(2);  // one for CPUs, one for memory: no regrowth
    r.reasons.push_back(std::move(why));
  };
  const CpuSet pool = host_->shared - held_;
  const unsigned pool_cpus = pool.Count();
  const unsigned slots = SlotsFor(pool_cpus);  // SharedSlots(), from the pool at hand
  if (pool.Empty()) {
    refuse("no shared CPUs: every online CPU is isolated, reserved or dedicated");
  } else if (type.vcpus > slots) {
    refuse(StrCat({"shared pool too small: ", Decimal(slots), " vCPU slots (", Decimal(pool_cpus),
                   " CPUs x ratio ", Ratio(host_->shared_cpu_ratio), "), needs ",
                   Decimal(type.vcpus)}));
  } else if (shared_vcpus_ + type.vcpus > slots) {
    refuse(StrCat({"shared pool full: ", Decimal(shared_vcpus_), " of ", Decimal(slots),
                   " vCPU slots used (", Decimal(pool_cpus), " CPUs x ratio ",
                   Ratio(host_->shared_cpu_ratio), "), needs ", Decimal(type.vcpus)}));
  }

  Placement p;  // its names and pool are filled in only once it fits
  p.shared_vcpus = type.vcpus;
  p.gpus = type.gpus;
  if (type.gpus)
    p.gpu_device = type.gpu_device_names.empty() ? "gpu" : type.gpu_device_names.front();

  if (type.hugepage_size_kib) {
    const uint64_t size = type.hugepage_size_kib;
    const uint64_t need = PagesFor(type.memory_kib, size);
    // One node: the one with the fewest free dedicated cores, whose pages
    // dedicated VMs (which need cores and pages on one node) could use least;
    // then the tightest fit.
    std::optional<size_t> best;
    std::pair<unsigned, uint64_t> best_key;
    uint64_t total_free = 0;
    for (size_t ni = 0; ni < host_->nodes.size(); ++ni) {
      const uint64_t f = FreeHugepages(ni, size);
      total_free += f;
      if (f < need) continue;
      const std::pair<unsigned, uint64_t> key{FreeCoreCount(ni), f};
      if (!best || key < best_key) best = ni, best_key = key;
    }
    if (best) {
      p.hugepages.push_back({host_->nodes[*best].id, size, need});
    } else if (total_free >= need) {
      // No node holds it all: take from the nodes with most pages first (fewest nodes).
      // Only this case needs the nodes in a list (a refusal or a one-node fit does not).
      std::vector<size_t> order(host_->nodes.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
        return FreeHugepages(x, size) > FreeHugepages(y, size);
      });
      uint64_t left = need;
      for (size_t ni : order) {
        const uint64_t take = std::min(left, FreeHugepages(ni, size));
        if (take) p.hugepages.push_back({host_->nodes[ni].id, size, take});
        left -= take;
        if (!left) break;
      }
    } else {
      // Short pieces, joined once: "need 1024 for 2Gi".
      const Decimal pages(need);
      const Kib memory(type.memory_kib), page_size(size);
      refuse(total_free == 0
                 ? StrCat({"no free ", page_size, " hugepages on any NUMA node (need ", pages,
                           " for ", memory, ")"})
                 : StrCat({"only ", Decimal(total_free), " free ", page_size,
                           " hugepages on all NUMA nodes (need ", pages, " for ", memory, ")"}));
    }
    for (const auto& g : p.hugepages) p.numa_nodes.push_back(g.node);
  } else {
    p.memory_kib = type.ReservedMemoryKib();
    const uint64_t free = FreeOrdinaryMemoryKib();
    if (p.memory_kib > free) {
      // " (2Gi at 50% overcommit)" for overcommitted types, in the same StrCat.
      const bool over = type.overcommit_percent;
      const Kib gross(type.memory_kib);
      const Decimal percent(type.overcommit_percent);
      refuse(StrCat({Kib(free), " ordinary memory free, needs ", Kib(p.memory_kib),
                     over ? " (" : "", over ? std::string_view(gross) : std::string_view(),
                     over ? " at " : "", over ? std::string_view(percent) : std::string_view(),
                     over ? "% overcommit)" : ""}));
    }
  }
  if (!r.reasons.empty()) return r;
  p.vm = vm;
  p.instance_type = type.name;
  p.shared_cpus = pool;
  r.placement = std::move(p);
  return r;
}

}  // namespace kvhost
