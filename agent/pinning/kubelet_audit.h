// The audit of a host whose placement owner is kubelet: the agent never moves
// a KubeVirt domain's threads there, it checks that what kubelet's static CPU
// manager gave each virt-launcher pod is what the domain actually uses. Pure:
// the caller gathers the domains (libvirt, /proc) and kubelet's checkpoint.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/host_resources.h"
#include "agent/kubelet/cpu_manager_state.h"
#include "agent/pinning/audit.h"

namespace kvhost {

namespace kubelet_rule {
// A dedicated vCPU on a CPU outside its container's exclusive cpuset.
inline constexpr const char* kVcpuOutsideContainerCpuset = "vcpu-outside-container-cpuset";
// A dedicated domain whose vCPUs lie in no container's exclusive cpuset.
inline constexpr const char* kNoExclusiveCpuset = "no-exclusive-cpuset";
// An SMT sibling of a dedicated VM's core given exclusively to another pod
// (kubelet allows it when full-pcpus-only is off).
inline constexpr const char* kSiblingGivenToAnotherPod = "smt-sibling-given-to-another-pod";
// A realtime (rt1) vCPU thread not SCHED_FIFO.
inline constexpr const char* kRealtimeVcpuNotFifo = "realtime-vcpu-not-fifo";
}  // namespace kubelet_rule

struct KubeletAuditDomain {
  AuditDomain domain;  // name, type facts and libvirt's pinning
  // The pod UID from the cgroup path of its QEMU process, when that process
  // was found; otherwise the pod is found by its vCPUs' CPUs.
  std::optional<std::string> pod_uid;
  // Scheduling policy of each vCPU thread from /proc, when QEMU was found.
  std::optional<std::vector<int>> vcpu_thread_policies;
};

// Checks every kubelet_rule, plus the emulator not on a vCPU's CPU
// (audit_rule::kEmulatorOnVcpuCpu). `full_pcpus_only`: kubelet's
// cpuManagerPolicyOptions full-pcpus-only.
std::vector<AuditViolation> AuditKubeletPlacement(const HostResources& host,
                                                  const kubelet::CpuManagerState& cpu_state,
                                                  bool full_pcpus_only,
                                                  const std::vector<KubeletAuditDomain>& domains);

// The pod UID in a /proc/<pid>/cgroup text: ".../kubepods-burstable-pod<uid>.slice/..."
// (systemd driver, '_' for '-') or ".../kubepods/burstable/pod<uid>/..." (cgroupfs).
std::optional<std::string> PodUidFromCgroup(const std::string& cgroup_text);

}  // namespace kvhost
