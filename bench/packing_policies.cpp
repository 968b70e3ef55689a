// Ours and the fluid bound; the kubelet baseline is in kubelet_baseline.cpp.
#include "bench/packing_policies.h"

#include <algorithm>
#include <stdexcept>

#include "base/sizes.h"

namespace kvhost::bench {
namespace {

std::string VmName(unsigned vm) { return "vm-" + std::to_string(vm); }

}  // namespace

FluidDemand DemandOf(const InstanceType& type, unsigned threads_per_core) {
  FluidDemand d;
  d.realtime = type.realtime;
  d.gpus = type.gpus;
  if (type.gpus)
    d.gpu_device = type.gpu_device_names.empty() ? "gpu" : type.gpu_device_names.front();
  const unsigned tpc = std::max(1u, threads_per_core);
  if (type.Dedicated()) {
    const unsigned rounded = (type.vcpus + tpc - 1) / tpc * tpc;
    // With cores rounded, the emulator of a non-realtime type takes the idle
    // sibling the vCPUs leave, as ours does (node_fit.cpp).
    const bool emulator_free = rounded > type.vcpus && !type.realtime;
    d.dedicated_cpus = rounded + (type.isolate_emulator_thread && !emulator_free ? 1 : 0);
  } else
    d.shared_vcpus = type.vcpus;
  if (type.hugepage_size_kib) {
    d.hugepage_size_kib = type.hugepage_size_kib;
    d.hugepages = PagesFor(type.memory_kib, type.hugepage_size_kib);
  } else {
    // Ours reserves the overcommitted size for shared guests; dedicated ones take it whole.
    d.ordinary_kib = type.Dedicated() ? type.memory_kib : type.ReservedMemoryKib();
  }
  return d;
}

FluidCapacity CapacityOf(const HostResources& host) {
  FluidCapacity c;
  c.dedicated_cpus = host.dedicated.Count();
  // The allocator's own rule. Callers check that the pools are disjoint
  // (isolated variants): then no dedicated VM ever shrinks this.
  c.shared_slots = host.SharedSlotsFor(host.shared.Count());
  for (const auto& node : host.nodes)
    for (const auto& [size, pages] : node.hugepages_free) c.hugepages[size] += pages;
  c.ordinary_kib = host.ordinary_memory_kib;
  c.gpus = host.gpus;
  c.realtime_ready = host.realtime_ready;
  return c;
}

bool OurAllocatorPolicy::Admit(const InstanceType& type, unsigned vm) {
  PlaceResult r = allocator_.Place(type, VmName(vm));
  if (!r.placement) {
    std::string why = type.series + ": ";
    why += r.reasons.empty() ? "(no reason given)" : r.reasons.front();
    std::string blanked;
    for (char c : why) {
      const bool digit = c >= '0' && c <= '9';
      if (!digit)
        blanked += c;
      else if (blanked.empty() || blanked.back() != '#')
        blanked += '#';
    }
    ++reject_reasons_[blanked];
    if (type.Dedicated()) {
      auto& [all, stranded] = refusals_[type.series];
      ++all;
      if (FitsInHostTotals(type)) ++stranded;
    }
    return false;
  }
  allocator_.Commit(*r.placement);  // throws AllocationConflict: a bug worth stopping the bench for
  return true;
}

bool OurAllocatorPolicy::FitsInHostTotals(const InstanceType& type) const {
  const HostResources& host = allocator_.host();
  const unsigned tpc = std::max(1u, host.threads_per_core);
  const unsigned cores_needed = (type.vcpus + tpc - 1) / tpc;
  unsigned free_cores = 0, emulator_cpus = 0;
  uint64_t free_pages = 0;
  for (size_t ni = 0; ni < host.nodes.size(); ++ni) {
    free_cores += allocator_.FreeCoreCount(ni);
    emulator_cpus += allocator_.EmulatorCandidates(ni).Count();  // free cores' CPUs included
    if (type.hugepage_size_kib) free_pages += allocator_.FreeHugepages(ni, type.hugepage_size_kib);
  }
  if (type.realtime && !host.realtime_ready) return false;
  if (free_cores < cores_needed) return false;
  const bool emulator_on_sibling = cores_needed * tpc > type.vcpus && !type.realtime;
  if (type.isolate_emulator_thread && !emulator_on_sibling &&
      emulator_cpus < cores_needed * tpc + 1)
    return false;
  if (type.hugepage_size_kib)
    return free_pages >= PagesFor(type.memory_kib, type.hugepage_size_kib);
  return allocator_.FreeOrdinaryMemoryKib() >= type.memory_kib;
}

void OurAllocatorPolicy::Depart(unsigned vm) {
  if (!allocator_.Release(VmName(vm)))
    throw std::logic_error("ours: " + VmName(vm) + " was not placed");
}

bool FluidBoundPolicy::Admit(const InstanceType& type, unsigned vm) {
  const FluidDemand d = DemandOf(type, threads_per_core_);
  if (d.realtime && !capacity_.realtime_ready) return false;
  if (used_.dedicated_cpus + d.dedicated_cpus > capacity_.dedicated_cpus) return false;
  if (used_.shared_slots + d.shared_vcpus > capacity_.shared_slots) return false;
  if (d.hugepages) {
    auto cap = capacity_.hugepages.find(d.hugepage_size_kib);
    if (cap == capacity_.hugepages.end() ||
        used_.hugepages[d.hugepage_size_kib] + d.hugepages > cap->second)
      return false;
  }
  if (used_.ordinary_kib + d.ordinary_kib > capacity_.ordinary_kib) return false;
  if (d.gpus) {
    auto cap = capacity_.gpus.find(d.gpu_device);
    if (cap == capacity_.gpus.end() || used_.gpus[d.gpu_device] + d.gpus > cap->second)
      return false;
  }
  used_.dedicated_cpus += d.dedicated_cpus;
  used_.shared_slots += d.shared_vcpus;
  if (d.hugepages) used_.hugepages[d.hugepage_size_kib] += d.hugepages;
  used_.ordinary_kib += d.ordinary_kib;
  if (d.gpus) used_.gpus[d.gpu_device] += d.gpus;
  held_.emplace(vm, d);
  return true;
}

void FluidBoundPolicy::Depart(unsigned vm) {
  auto it = held_.find(vm);
  if (it == held_.end()) throw std::logic_error("bound: " + VmName(vm) + " was not placed");
  const FluidDemand& d = it->second;
  used_.dedicated_cpus -= d.dedicated_cpus;
  used_.shared_slots -= d.shared_vcpus;
  if (d.hugepages) used_.hugepages[d.hugepage_size_kib] -= d.hugepages;
  used_.ordinary_kib -= d.ordinary_kib;
  if (d.gpus) used_.gpus[d.gpu_device] -= d.gpus;
  held_.erase(it);
}

}  // namespace kvhost::bench
