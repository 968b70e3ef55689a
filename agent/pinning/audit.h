// The pinning audit: what libvirt reports for the running domains, checked
// against the placement policy (README "Placement policy"). Each violation
// names the domain to act on, the CPUs at issue and a fix in plain words.
// Pure: no I/O; the caller reads the pinning (ReadPinning) and the host.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/host_resources.h"
#include "agent/allocator/placement.h"
#include "agent/libvirt/domain_types.h"
#include "base/cpu_set.h"
#include "numa/numa_topology.h"

namespace kvhost {

// Rule names as they appear in AuditViolation::rule and in the JSON report.
namespace audit_rule {
// A dedicated vCPU pinned to no CPU or to several (floating).
inline constexpr const char* kVcpuNotPinnedToOneCpu = "vcpu-not-pinned-to-one-cpu";
// Two vCPUs of one dedicated domain pinned to the same CPU.
inline constexpr const char* kVcpusShareCpu = "vcpus-share-cpu";
// The emulator of a domain that isolates it runs on one of its vCPU CPUs.
inline constexpr const char* kEmulatorOnVcpuCpu = "emulator-on-vcpu-cpu";
// A dedicated vCPU's physical core also runs another domain (vCPU or emulator)
// or the domain's own isolated emulator on an SMT sibling.
inline constexpr const char* kSmtSiblingShared = "smt-sibling-shared";
// Two domains on one CPU: any overlap with a dedicated domain's CPUs,
// including a shared domain floating over them. Blamed as AuditPinning says.
inline constexpr const char* kCpuSharedBetweenDomains = "cpu-shared-between-domains";
// Dedicated vCPUs spread over NUMA nodes although one node has enough
// dedicated CPUs on whole cores for all of them.
inline constexpr const char* kVcpusSpanNumaNodes = "vcpus-span-numa-nodes";
// Memory (numatune nodeset) on other nodes than the vCPUs' CPUs.
inline constexpr const char* kMemoryOffVcpuNodes = "memory-off-vcpu-nodes";
// A dedicated vCPU or isolated emulator on a CPU outside the dedicated pool
// (a housekeeping CPU, an offline CPU, or one the configuration no longer dedicates).
inline constexpr const char* kOutsideDedicatedPool = "outside-dedicated-pool";
// Pinned otherwise than the agent's saved allocation says (drift.h): what
// `reconcile` re-pins, on any domain, dedicated or shared.
inline constexpr const char* kDriftedFromAllocation = "drifted-from-allocation";
}  // namespace audit_rule

struct AuditDomain {
  std::string name;
  std::string uuid;
  bool dedicated = false;  // dedicatedCPUPlacement: whole cores, one CPU per vCPU
  std::optional<std::string> instance_type;
  DomainPinning actual;  // what libvirt reports for the running definition
  // Host nodes of the numatune nodeset. When empty, actual.numa's nodeset is
  // used; when both are empty the memory is unbound and the memory rule is skipped.
  std::vector<unsigned> memory_nodes;
  // The instance type asks for isolateEmulatorThread (every built-in dedicated
  // type does). When false the emulator belongs on the domain's own vCPU CPUs,
  // as KubeVirt and PinningForPlacement put it, and the emulator rules do not
  // apply. Defaults to true so a caller that forgets to set it sees violations
  // rather than silence.
  bool isolate_emulator_thread = true;
  // A realtime type (rt1): its vCPU cores are the vCPUs' alone, so an emulator
  // on an idle sibling is a violation. Other types may put it there, as
  // KubeVirt does with AlignCPUs for an odd number of vCPUs.
  bool realtime = false;
  // The agent's own placement split this domain over nodes (Placement::
  // numa_nodes has several), because no single node had the memory or
  // hugepages: the span rule, which only sees CPUs, is then skipped.
  bool numa_span_intended = false;
  // The agent's saved allocation of the domain, if it has one, and the
  // pinning of its stored definition (absent for a transient domain, or when
  // not read): drift from the allocation is a violation, and the allocations
  // decide which of two overlapping domains is at fault.
  std::optional<Placement> allocation;
  std::optional<DomainPinning> stored;
};

struct AuditViolation {
  std::string domain;  // the domain the fix acts on
  std::string rule;    // one of audit_rule
  CpuSet cpus;         // the host CPUs at issue
  std::string detail;  // what is wrong, with the numbers and the other domain if any
  std::string fix;     // what to do, in plain words
};

// Checks every rule of audit_rule. Violations between two domains are
// reported on the domain at fault, and blame follows the allocations: the one
// that drifted from its allocation, or, next to one pinned as allocated, the
// one the agent did not place. When the allocations do not tell, a shared
// domain floating over a dedicated one is at fault, and of two dedicated
// domains both are named (one violation each, naming the other).
// Violations come grouped by domain in the order of `domains`. `numa` (the
// host's NUMA model) gives the node of CPUs the allocator does not know and
// names memory-only nodes; without it the node comes from host.cores.
std::vector<AuditViolation> AuditPinning(const HostResources& host,
                                         const std::vector<AuditDomain>& domains,
                                         const NumaTopology* numa = nullptr);

}  // namespace kvhost
