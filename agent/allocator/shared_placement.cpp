// Shared placement (U, O, M, GN): vCPUs float on the shared pool within the
// vCPU:pCPU ratio; memory is ordinary (overcommitted for O) or, for M,
// hugepages from the node whose pages dedicated VMs could use least.
#include <algorithm>
#include <numeric>

#include "agent/allocator/allocator.h"
#include "agent/allocator/units.h"

namespace kvhost {
namespace {

std::string Ratio(double r) {
  std::string s = std::to_string(r);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

PlaceResult Allocator::PlaceShared(const InstanceType& type, const std::string& vm) const {
  PlaceResult r;
  const CpuSet pool = host_->shared - held_;
  const unsigned slots = SharedSlots();
  if (pool.Empty()) {
    r.reasons.push_back("no shared CPUs: every online CPU is isolated, reserved or dedicated");
  } else if (type.vcpus > slots) {
    r.reasons.push_back(
        StrCat({"shared pool too small: ", std::to_string(slots), " vCPU slots (",
                std::to_string(pool.Count()), " CPUs x ratio ", Ratio(host_->shared_cpu_ratio),
                "), needs ", std::to_string(type.vcpus)}));
  } else if (shared_vcpus_ + type.vcpus > slots) {
    r.reasons.push_back(
        StrCat({"shared pool full: ", std::to_string(shared_vcpus_), " of ", std::to_string(slots),
                " vCPU slots used (", std::to_string(pool.Count()), " CPUs x ratio ",
                Ratio(host_->shared_cpu_ratio), "), needs ", std::to_string(type.vcpus)}));
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
    std::vector<size_t> order(host_->nodes.size());
    std::iota(order.begin(), order.end(), 0);
    for (size_t ni : order) {
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
      const std::string want =
          StrCat({"need ", std::to_string(need), " for ", FormatKib(type.memory_kib)});
      r.reasons.push_back(
          total_free == 0
              ? StrCat({"no free ", FormatKib(size), " hugepages on any NUMA node (", want, ")"})
              : StrCat({"only ", std::to_string(total_free), " free ", FormatKib(size),
                        " hugepages on all NUMA nodes (", want, ")"}));
    }
    for (const auto& g : p.hugepages) p.numa_nodes.push_back(g.node);
  } else {
    p.memory_kib = type.ReservedMemoryKib();
    const uint64_t free = FreeOrdinaryMemoryKib();
    if (p.memory_kib > free)
      r.reasons.push_back(
          StrCat({FormatKib(free), " ordinary memory free, needs ", FormatKib(p.memory_kib),
                  type.overcommit_percent
                      ? StrCat({" (", FormatKib(type.memory_kib), " at ",
                                std::to_string(type.overcommit_percent), "% overcommit)"})
                      : std::string()}));
  }
  if (!r.reasons.empty()) return r;
  p.vm = vm;
  p.instance_type = type.name;
  p.shared_cpus = pool;
  r.placement = std::move(p);
  return r;
}

}  // namespace kvhost
