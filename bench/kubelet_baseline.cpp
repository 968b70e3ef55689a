// The kubelet-style baseline of bench/packing, written from reading kubelet's
// pkg/kubelet/cm/cpumanager/cpu_assignment.go (takeByTopologyNUMAPacked) and
// the topology manager's single-numa-node policy; see packing_policies.h.
#include <algorithm>
#include <set>
#include <stdexcept>

#include "base/sizes.h"
#include "bench/packing_policies.h"

namespace kvhost::bench {

KubeletBaselinePolicy::KubeletBaselinePolicy(const HostModel& model,
                                             std::shared_ptr<const HostResources> host)
    : host_(std::move(host)) {
  node_cpus_.resize(host_->nodes.size());
  std::set<unsigned> packages;
  for (const auto& core : model.cpu.cores) {
    if (core.pus.Empty()) continue;
    const auto node_id = model.numa.NodeOf(static_cast<unsigned>(core.pus.First()));
    const int ni = node_id ? host_->NodeIndex(*node_id) : -1;
    if (ni < 0) continue;  // a core in no node with CPUs cannot be aligned to one
    const unsigned index = static_cast<unsigned>(cores_.size());
    cores_.push_back(core.pus);
    core.pus.ForEach([&](unsigned cpu) {
      cpu_[cpu] = Cpu{index, static_cast<size_t>(ni), core.package};
    });
    node_cpus_[static_cast<size_t>(ni)] |= core.pus;
    socket_cpus_[core.package] |= core.pus;
    packages.insert(core.package);
  }
  // kubelet: NUMA nodes come first when there are at least as many sockets as nodes.
  numa_first_ = packages.size() >= host_->nodes.size();
  threads_per_core_ = host_->threads_per_core;
}

uint64_t KubeletBaselinePolicy::FreePages(size_t node, uint64_t size_kib) const {
  const auto& pools = host_->nodes[node].hugepages_free;
  auto pool = pools.find(size_kib);
  if (pool == pools.end()) return 0;
  auto used = pages_used_.find({node, size_kib});
  const uint64_t taken = used == pages_used_.end() ? 0 : used->second;
  return pool->second > taken ? pool->second - taken : 0;
}

// kubelet's cpuAccumulator for takeByTopologyNUMAPacked: CPUs move from
// `free` to `result` step by step until `needed` is zero. Each step lists its
// candidates once, from the CPUs free when it starts, in kubelet's one sort
// order: ascending number of free CPUs, ties by ascending id.
class KubeletBaselinePolicy::PackedTake {
 public:
  PackedTake(const KubeletBaselinePolicy& policy, const CpuSet& available, unsigned count)
      : p_(policy), free_(available), needed_(count) {}

  bool Satisfied() const { return needed_ == 0; }
  const CpuSet& result() const { return result_; }

  // Whole NUMA nodes (`numa`) or sockets, every CPU free, while the request covers one.
  void TakeFullGroups(bool numa) {
    for (unsigned id : Level(numa)) {
      const CpuSet& all = Group(numa, id);
      if (FreeIn(all) == all.Count() && needed_ >= all.Count()) Take(all);
    }
  }

  // Whole free cores while the request covers one.
  void TakeFullCores() {
    for (unsigned c : OrderedCores())
      if (p_.cores_[c].IsSubsetOf(free_) && needed_ >= p_.cores_[c].Count()) Take(p_.cores_[c]);
  }

  // Single CPUs, core by core, until the request is met.
  void TakeRemainingCpus() {
    for (unsigned c : OrderedCores()) {
      for (unsigned cpu : (p_.cores_[c] & free_).Ids()) {
        if (Satisfied()) return;
        Take(CpuSet::Range(cpu, cpu));
      }
    }
  }

 private:
  void Take(const CpuSet& cpus) {
    result_ |= cpus;
    free_ -= cpus;
    needed_ -= cpus.Count();
  }
  unsigned FreeIn(const CpuSet& cpus) const { return (cpus & free_).Count(); }
  const CpuSet& Group(bool numa, unsigned id) const {
    return numa ? p_.node_cpus_[id] : p_.socket_cpus_.at(id);
  }

  template <typename CpusOf>
  void SortAscending(std::vector<unsigned>& ids, const CpusOf& cpus_of) const {
    std::sort(ids.begin(), ids.end(), [&](unsigned a, unsigned b) {
      const unsigned fa = FreeIn(cpus_of(a)), fb = FreeIn(cpus_of(b));
      return fa != fb ? fa < fb : a < b;
    });
  }

  // Groups at one level that still hold a free CPU (kubelet's "details"), sorted.
  std::vector<unsigned> Level(bool numa) const {
    std::vector<unsigned> ids;
    if (numa) {
      for (unsigned n = 0; n < p_.node_cpus_.size(); ++n)
        if (FreeIn(p_.node_cpus_[n])) ids.push_back(n);
    } else {
      for (const auto& [s, cpus] : p_.socket_cpus_)
        if (FreeIn(cpus)) ids.push_back(s);
    }
    SortAscending(ids, [&](unsigned id) -> const CpuSet& { return Group(numa, id); });
    return ids;
  }

  // Cores ordered outer level, inner level, then core, each ascending by free CPUs.
  std::vector<unsigned> OrderedCores() const {
    const bool numa_first = p_.numa_first_;
    std::vector<unsigned> out;
    std::set<unsigned> seen;
    for (unsigned outer : Level(numa_first)) {
      const CpuSet& outer_cpus = Group(numa_first, outer);
      for (unsigned inner : Level(!numa_first)) {
        const CpuSet& inner_cpus = Group(!numa_first, inner);
        if (!inner_cpus.Intersects(outer_cpus)) continue;
        std::vector<unsigned> cores;
        (inner_cpus & free_).ForEach([&](unsigned cpu) {
          const unsigned c = p_.cpu_.at(cpu).core;
          if (seen.insert(c).second) cores.push_back(c);
        });
        SortAscending(cores, [&](unsigned c) -> const CpuSet& { return p_.cores_[c]; });
        out.insert(out.end(), cores.begin(), cores.end());
      }
    }
    return out;
  }

  const KubeletBaselinePolicy& p_;
  CpuSet free_, result_;
  unsigned needed_;
};

std::optional<CpuSet> KubeletBaselinePolicy::TakePacked(const CpuSet& available,
                                                        unsigned count) const {
  if (available.Count() < count) return std::nullopt;
  PackedTake take(*this, available, count);
  // kubelet's steps: whole NUMA nodes or sockets (the larger level first),
  // then the other level, then whole cores, then single CPUs.
  take.TakeFullGroups(numa_first_);
  if (!take.Satisfied()) take.TakeFullGroups(!numa_first_);
  if (!take.Satisfied()) take.TakeFullCores();
  if (!take.Satisfied()) take.TakeRemainingCpus();
  if (!take.Satisfied()) return std::nullopt;
  return take.result();
}

bool KubeletBaselinePolicy::AdmitDedicated(const InstanceType& type, Grant& grant) {
  const unsigned tpc = std::max(1u, threads_per_core_);
  const unsigned asked = type.vcpus + (type.isolate_emulator_thread ? 1 : 0);
  const unsigned cpus = (asked + tpc - 1) / tpc * tpc;  // AlignCPUs: whole cores
  const uint64_t size = type.hugepage_size_kib;
  const uint64_t pages = size ? PagesFor(type.memory_kib, size) : 0;
  // Without hugepages the memory manager would bind ordinary memory to the
  // node; the seed's dedicated types all use hugepages, so the host-wide
  // ordinary pool stands in for that here.
  if (!size && ordinary_used_ + type.memory_kib > host_->ordinary_memory_kib) return false;
  for (size_t ni = 0; ni < host_->nodes.size(); ++ni) {
    const CpuSet available = host_->nodes[ni].dedicable_cpus - held_;
    // full-pcpus-only: only CPUs whose whole core is free can be handed out.
    CpuSet whole;
    available.ForEach([&](unsigned cpu) {
      const CpuSet& core = cores_[cpu_.at(cpu).core];
      if (core.IsSubsetOf(available)) whole |= core;
    });
    if (whole.Count() < cpus) continue;
    if (size && FreePages(ni, size) < pages) continue;
    std::optional<CpuSet> taken = TakePacked(available, cpus);
    if (!taken) continue;
    taken->ForEach([&](unsigned cpu) {  // what full-pcpus-only guarantees; a bench bug otherwise
      if (!cores_[cpu_.at(cpu).core].IsSubsetOf(*taken))
        throw std::logic_error("baseline: takeByTopologyNUMAPacked split core of CPU " +
                               std::to_string(cpu));
    });
    grant.cpus = *taken;
    if (size)
      grant.pages[{ni, size}] = pages;
    else
      grant.ordinary_kib = type.memory_kib;
    return true;
  }
  return false;
}

bool KubeletBaselinePolicy::AdmitShared(const InstanceType& type, Grant& grant) {
  const unsigned slots = host_->SharedSlotsFor((host_->shared - held_).Count());
  if (shared_vcpus_ + type.vcpus > slots) return false;
  grant.shared_vcpus = type.vcpus;
  if (const uint64_t size = type.hugepage_size_kib) {
    uint64_t left = PagesFor(type.memory_kib, size);
    for (size_t ni = 0; ni < host_->nodes.size(); ++ni) {
      if (FreePages(ni, size) >= left) {
        grant.pages = {{{ni, size}, left}};
        return true;
      }
    }
    // No node holds them all: the kernel falls back to other nodes in turn.
    for (size_t ni = 0; ni < host_->nodes.size() && left; ++ni) {
      const uint64_t from_here = std::min(left, FreePages(ni, size));
      if (from_here) grant.pages[{ni, size}] = from_here;
      left -= from_here;
    }
    return left == 0;
  }
  grant.ordinary_kib = type.ReservedMemoryKib();
  return ordinary_used_ + grant.ordinary_kib <= host_->ordinary_memory_kib;
}

bool KubeletBaselinePolicy::Admit(const InstanceType& type, unsigned vm) {
  if (type.realtime && !host_->realtime_ready) return false;
  Grant grant;
  if (type.gpus) {
    grant.gpu_device = type.gpu_device_names.empty() ? "gpu" : type.gpu_device_names.front();
    auto offered = host_->gpus.find(grant.gpu_device);
    if (offered == host_->gpus.end() || gpus_used_[grant.gpu_device] + type.gpus > offered->second)
      return false;
    grant.gpus = type.gpus;
  }
  if (!(type.Dedicated() ? AdmitDedicated(type, grant) : AdmitShared(type, grant))) return false;
  held_ |= grant.cpus;
  for (const auto& [key, pages] : grant.pages) pages_used_[key] += pages;
  shared_vcpus_ += grant.shared_vcpus;
  ordinary_used_ += grant.ordinary_kib;
  if (grant.gpus) gpus_used_[grant.gpu_device] += grant.gpus;
  grants_.emplace(vm, std::move(grant));
  return true;
}

void KubeletBaselinePolicy::Depart(unsigned vm) {
  auto it = grants_.find(vm);
  if (it == grants_.end())
    throw std::logic_error("baseline: vm-" + std::to_string(vm) + " was not placed");
  const Grant& g = it->second;
  held_ -= g.cpus;
  for (const auto& [key, pages] : g.pages) pages_used_[key] -= pages;
  shared_vcpus_ -= g.shared_vcpus;
  ordinary_used_ -= g.ordinary_kib;
  if (g.gpus) gpus_used_[g.gpu_device] -= g.gpus;
  grants_.erase(it);
}

}  // namespace kvhost::bench
