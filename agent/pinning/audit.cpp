#include "agent/pinning/audit.h"

#include <algorithm>
#include <map>

#include "agent/pinning/drift.h"

namespace kvhost {
namespace {

// What one domain holds, derived once from its pinning.
struct DomainCpus {
  const AuditDomain* domain = nullptr;
  size_t order = 0;      // index in the input, for grouping the output
  CpuSet vcpus;          // every CPU any vCPU may run on
  CpuSet single_pinned;  // CPUs of the vCPUs pinned to exactly one CPU
  bool every_vcpu_single = true;
  CpuSet emulator;                    // empty when libvirt reported no emulator pinning
  CpuSet vcpu_cores;                  // every SMT sibling of single_pinned (dedicated only)
  std::optional<PinningDrift> drift;  // absent: no saved allocation to compare with

  CpuSet Occupied() const { return vcpus | emulator; }
  const std::string& name() const { return domain->name; }
  bool Drifted() const { return drift && drift->Drifted(); }
  bool PinnedAsAllocated() const { return drift && !drift->Drifted(); }
};

// Which of two overlapping domains the allocations blame: the one that
// drifted from its allocation, else, next to one pinned as allocated, the one
// the agent did not place. Null when they do not tell.
const DomainCpus* BlamedByAllocations(const DomainCpus& a, const DomainCpus& b) {
  if (a.Drifted() != b.Drifted()) return a.Drifted() ? &a : &b;
  if (a.PinnedAsAllocated() && !b.drift) return &b;
  if (b.PinnedAsAllocated() && !a.drift) return &a;
  return nullptr;
}

std::string KindOf(const DomainCpus& d) {
  return d.domain->dedicated ? "dedicated domain " : "shared domain ";
}

std::string Quoted(const std::string& name) { return "'" + name + "'"; }

std::string PinFix(const std::string& domain, const std::string& why) {
  return "run `kvhost-agent pin " + domain + "` to " + why;
}

// How the one at fault gets off the CPUs of `keeper`.
std::string MoverFix(const DomainCpus& mover, const DomainCpus& keeper) {
  if (mover.Drifted())
    return PinFix(mover.name(),
                  "re-apply its allocation, off the CPUs of " + Quoted(keeper.name()));
  if (!mover.domain->dedicated)
    return PinFix(mover.name(), "float it on the shared pool only, off the dedicated CPUs of " +
                                    Quoted(keeper.name()));
  return PinFix(mover.name(), "re-place it on cores of its own");
}

// Without allocations the operator decides: `pin` gives the chosen domain an
// allocation, after which the audit blames only the other.
std::string KeepOneFix(const DomainCpus& a, const DomainCpus& b) {
  return "decide which of the two to keep: run `kvhost-agent pin " + a.name() + "` to keep " +
         Quoted(a.name()) + " or `kvhost-agent pin " + b.name() + "` to keep " + Quoted(b.name()) +
         "; the agent allocates the kept one CPUs of its own, and the audit then blames only the "
         "other";
}

CpuSet SetOf(const std::vector<unsigned>& ids) {
  CpuSet set;
  for (unsigned id : ids) set.Add(id);
  return set;
}

class Auditor {
 public:
  Auditor(const HostResources& host, const NumaTopology* numa) : host_(host), numa_(numa) {}

  DomainCpus Derive(const AuditDomain& domain, size_t order) const {
    DomainCpus d;
    d.domain = &domain;
    d.order = order;
    for (const CpuSet& pin : domain.actual.vcpus) {
      d.vcpus |= pin;
      if (pin.Count() == 1)
        d.single_pinned |= pin;
      else
        d.every_vcpu_single = false;
    }
    if (domain.actual.emulator) d.emulator = *domain.actual.emulator;
    if (domain.dedicated) d.vcpu_cores = CoresOf(d.single_pinned);
    if (domain.allocation)
      d.drift = DriftFromAllocation(*domain.allocation, domain.actual, domain.stored);
    return d;
  }

  void CheckDomain(const DomainCpus& d) {
    if (d.Drifted())
      Add(d, audit_rule::kDriftedFromAllocation, d.drift->cpus_outside,
          Quoted(d.name()) + " is not pinned as the agent allocated it: " + d.drift->Describe(),
          PinFix(d.name(), "re-apply its allocation (as `kvhost-agent reconcile` does)"));
    if (!d.domain->dedicated) return;  // shared domains float by design
    CheckVcpusPinnedAlone(d);
    CheckEmulator(d);
    CheckPool(d);
    // With a floating vCPU the placement is undefined; re-placing it (the
    // fix above) settles nodes and memory too, so they are not judged now.
    if (!d.every_vcpu_single) return;
    CheckNumaSpan(d);
    CheckMemory(d);
  }

  // Rules between two domains; `earlier` comes first in the input.
  void CheckPair(const DomainCpus& earlier, const DomainCpus& later) {
    if (!earlier.domain->dedicated && !later.domain->dedicated) return;  // shared may overlap
    const CpuSet overlap = earlier.Occupied() & later.Occupied();
    // CPUs of one domain that are SMT siblings of the other's dedicated vCPUs.
    const CpuSet siblings =
        ((later.Occupied() & earlier.vcpu_cores) | (earlier.Occupied() & later.vcpu_cores)) -
        overlap;
    if (overlap.Empty() && siblings.Empty()) return;
    if (const DomainCpus* at_fault = BlamedByAllocations(earlier, later)) {
      const DomainCpus& other = at_fault == &earlier ? later : earlier;
      Blame(*at_fault, other, overlap, siblings, "", MoverFix(*at_fault, other));
    } else if (!earlier.drift && !later.drift) {
      // Nothing to compare with: either may be the intruder, whatever their kinds.
      const std::string why = "; no saved allocation says which one belongs there";
      const std::string fix = KeepOneFix(earlier, later);
      Blame(earlier, later, overlap, siblings, why, fix);
      Blame(later, earlier, overlap, siblings, why, fix);
    } else if (earlier.domain->dedicated != later.domain->dedicated) {
      // Both pinned as allocated (or both drifted): a shared pool saved before
      // the dedicated domain took its CPUs is stale, as the shared pool never
      // holds a dedicated domain's CPUs.
      const DomainCpus& shared = earlier.domain->dedicated ? later : earlier;
      const DomainCpus& dedicated = earlier.domain->dedicated ? earlier : later;
      Blame(shared, dedicated, overlap, siblings, "", MoverFix(shared, dedicated));
    } else {
      const std::string why = earlier.Drifted() ? "" : "; their saved allocations overlap";
      Blame(earlier, later, overlap, siblings, why, MoverFix(earlier, later));
      Blame(later, earlier, overlap, siblings, why, MoverFix(later, earlier));
    }
  }

  std::vector<AuditViolation> Take() {
    std::stable_sort(found_.begin(), found_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<AuditViolation> out;
    for (auto& [order, violation] : found_) out.push_back(std::move(violation));
    return out;
  }

 private:
  void Blame(const DomainCpus& mover, const DomainCpus& keeper, const CpuSet& overlap,
             const CpuSet& siblings, const std::string& why, const std::string& fix) {
    const bool floats = !mover.domain->dedicated;
    const std::string left = mover.Drifted() ? ", having left its allocation" : "";
    if (!overlap.Empty())
      Add(mover, audit_rule::kCpuSharedBetweenDomains, overlap,
          Quoted(mover.name()) + (floats ? " (shared) floats over" : " runs on") + " CPUs " +
              overlap.ToList() + " that " + KindOf(keeper) + Quoted(keeper.name()) + " also holds" +
              left + why,
          fix);
    if (!siblings.Empty())
      Add(mover, audit_rule::kSmtSiblingShared, siblings,
          Quoted(mover.name()) + " and " + Quoted(keeper.name()) + " share physical cores: CPUs " +
              siblings.ToList() + " are SMT siblings of the other's dedicated vCPUs" + left + why,
          fix);
  }

  void Add(const DomainCpus& d, const char* rule, CpuSet cpus, std::string detail,
           std::string fix) {
    found_.emplace_back(d.order, AuditViolation{d.name(), rule, std::move(cpus), std::move(detail),
                                                std::move(fix)});
  }

  CpuSet CoresOf(const CpuSet& cpus) const {
    CpuSet cores;
    cpus.ForEach([&](unsigned cpu) {
      if (const CoreInfo* core = host_.CoreOf(cpu)) cores |= core->pus;
    });
    return cores;
  }

  std::optional<unsigned> NodeOf(unsigned cpu) const {
    if (numa_) return numa_->NodeOf(cpu);
    if (const CoreInfo* core = host_.CoreOf(cpu)) return core->node;
    return std::nullopt;
  }

  CpuSet NodesOf(const CpuSet& cpus) const {
    CpuSet nodes;
    cpus.ForEach([&](unsigned cpu) {
      if (auto node = NodeOf(cpu)) nodes.Add(*node);
    });
    return nodes;
  }

  // Dedicated-pool CPUs of a node on whole dedicable cores: what vCPUs can take.
  unsigned VcpuRoomOf(const NodeResources& node) const {
    unsigned cpus = 0;
    for (unsigned core : node.cores) cpus += host_.cores[core].pus.Count();
    return cpus;
  }

  void CheckVcpusPinnedAlone(const DomainCpus& d) {
    const std::vector<CpuSet>& pins = d.domain->actual.vcpus;
    // Floating vCPUs, grouped by the set they float over so 64 vCPUs make one line.
    std::map<std::string, CpuSet> floating;  // cpulist -> vCPU indexes
    CpuSet floating_cpus;
    std::map<unsigned, CpuSet> vcpus_on_cpu;  // CPU -> vCPU indexes pinned to it alone
    for (unsigned i = 0; i < pins.size(); ++i) {
      if (pins[i].Count() == 1) {
        vcpus_on_cpu[static_cast<unsigned>(pins[i].First())].Add(i);
      } else {
        floating[pins[i].ToList()].Add(i);
        floating_cpus |= pins[i];
      }
    }
    if (!floating.empty()) {
      std::string detail;
      for (const auto& [cpus, indexes] : floating)
        detail += (detail.empty() ? "" : "; ") + std::string("vCPUs ") + indexes.ToList() +
                  (cpus.empty() ? " are pinned to no CPU" : " float over CPUs " + cpus);
      Add(d, audit_rule::kVcpuNotPinnedToOneCpu, floating_cpus,
          "dedicated domain " + Quoted(d.name()) + ": " + detail,
          PinFix(d.name(), "pin each vCPU to a CPU of its own"));
    }
    CpuSet shared_cpus;
    std::string detail;
    for (const auto& [cpu, indexes] : vcpus_on_cpu) {
      if (indexes.Count() < 2) continue;
      shared_cpus.Add(cpu);
      detail += (detail.empty() ? "" : "; ") + std::string("vCPUs ") + indexes.ToList() +
                " all on CPU " + std::to_string(cpu);
    }
    if (!shared_cpus.Empty())
      Add(d, audit_rule::kVcpusShareCpu, shared_cpus,
          "dedicated domain " + Quoted(d.name()) + ": " + detail,
          PinFix(d.name(), "give each vCPU a CPU of its own"));
  }

  void CheckEmulator(const DomainCpus& d) {
    if (!d.domain->isolate_emulator_thread || d.emulator.Empty()) return;
    const std::string fix = "move the emulator to a CPU outside the vCPU cores (" +
                            PinFix(d.name(), "re-place it") + ")";
    const CpuSet on_vcpus = d.emulator & d.vcpus;
    if (!on_vcpus.Empty())
      Add(d, audit_rule::kEmulatorOnVcpuCpu, on_vcpus,
          "the emulator thread of " + Quoted(d.name()) + " may run on CPUs " + on_vcpus.ToList() +
              " of its own vCPUs, though its type isolates the emulator",
          fix);
    // Other types may use an idle sibling of their own vCPU core (node_fit.cpp).
    const CpuSet on_siblings = (d.emulator & d.vcpu_cores) - d.vcpus;
    if (d.domain->realtime && !on_siblings.Empty())
      Add(d, audit_rule::kSmtSiblingShared, on_siblings,
          "the emulator thread of realtime " + Quoted(d.name()) + " may run on CPUs " +
              on_siblings.ToList() + ", SMT siblings of its own vCPUs",
          fix);
  }

  void CheckPool(const DomainCpus& d) {
    CpuSet outside = d.single_pinned - host_.dedicated;
    // An emulator already flagged as sitting on the vCPUs is not flagged twice.
    if (d.domain->isolate_emulator_thread) outside |= (d.emulator - d.vcpus) - host_.dedicated;
    if (outside.Empty()) return;
    Add(d, audit_rule::kOutsideDedicatedPool, outside,
        "dedicated domain " + Quoted(d.name()) + " runs on CPUs " + outside.ToList() +
            " outside the dedicated pool " + host_.dedicated.ToList() +
            " (housekeeping, offline or no longer dedicated)",
        PinFix(d.name(), "re-place it on dedicated CPUs"));
  }

  void CheckNumaSpan(const DomainCpus& d) {
    if (d.domain->numa_span_intended) return;
    const CpuSet nodes = NodesOf(d.vcpus);
    if (nodes.Count() < 2) return;
    const unsigned need = static_cast<unsigned>(d.domain->actual.vcpus.size());
    std::string roomy;
    for (const NodeResources& node : host_.nodes) {
      const unsigned room = VcpuRoomOf(node);
      if (room < need) continue;
      roomy += (roomy.empty() ? "" : ", ") + std::string("node ") + std::to_string(node.id) +
               " has " + std::to_string(room);
    }
    if (roomy.empty()) return;  // no node could hold them: the span is the only way
    Add(d, audit_rule::kVcpusSpanNumaNodes, d.vcpus,
        "the " + std::to_string(need) + " vCPUs of " + Quoted(d.name()) + " span NUMA nodes " +
            nodes.ToList() + " though one node would hold them (" + roomy +
            " dedicated CPUs on whole cores)",
        PinFix(d.name(), "re-place it on one NUMA node"));
  }

  void CheckMemory(const DomainCpus& d) {
    CpuSet memory = SetOf(d.domain->memory_nodes);
    if (memory.Empty() && d.domain->actual.numa) memory = d.domain->actual.numa->nodeset;
    if (memory.Empty()) return;  // unbound: nothing promised
    const CpuSet vcpu_nodes = NodesOf(d.vcpus);
    if (vcpu_nodes.Empty() || memory == vcpu_nodes) return;
    std::string detail = "memory of " + Quoted(d.name()) + " is bound to nodes " + memory.ToList() +
                         ", its vCPUs run on nodes " + vcpu_nodes.ToList();
    const CpuSet remote = memory - vcpu_nodes;
    if (!remote.Empty()) {
      detail += "; nodes " + remote.ToList() + " hold memory but none of its vCPUs";
      remote.ForEach([&](unsigned node) {
        const NumaNode* model = numa_ ? numa_->Find(node) : nullptr;
        if (numa_ && !model) detail += "; node " + std::to_string(node) + " does not exist";
        if (model && model->cpus.Empty())
          detail += "; node " + std::to_string(node) + " is memory-only (no CPUs)";
      });
    }
    const CpuSet starved = vcpu_nodes - memory;
    if (!starved.Empty())
      detail += "; its vCPUs on nodes " + starved.ToList() + " have no local memory";
    // The vCPU CPUs left without local memory; all of them when the memory is
    // merely spread further than the vCPUs.
    CpuSet cpus = starved.Empty() ? d.vcpus : CpuSet();
    d.vcpus.ForEach([&](unsigned cpu) {
      if (auto node = NodeOf(cpu); node && starved.Contains(*node)) cpus.Add(cpu);
    });
    Add(d, audit_rule::kMemoryOffVcpuNodes, cpus, detail,
        PinFix(d.name(),
               "bind its memory to nodes " + vcpu_nodes.ToList() + ", where its vCPUs run"));
  }

  const HostResources& host_;
  const NumaTopology* numa_;
  std::vector<std::pair<size_t, AuditViolation>> found_;
};

}  // namespace

std::vector<AuditViolation> AuditPinning(const HostResources& host,
                                         const std::vector<AuditDomain>& domains,
                                         const NumaTopology* numa) {
  Auditor auditor(host, numa);
  std::vector<DomainCpus> derived;
  derived.reserve(domains.size());
  for (size_t i = 0; i < domains.size(); ++i) derived.push_back(auditor.Derive(domains[i], i));
  for (const DomainCpus& d : derived) auditor.CheckDomain(d);
  for (size_t i = 0; i < derived.size(); ++i)
    for (size_t j = i + 1; j < derived.size(); ++j) auditor.CheckPair(derived[i], derived[j]);
  return auditor.Take();
}

}  // namespace kvhost
