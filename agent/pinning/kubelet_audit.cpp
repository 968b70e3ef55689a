#include "agent/pinning/kubelet_audit.h"

#include <sched.h>

#include <algorithm>
#include <regex>

namespace kvhost {
namespace {

struct Container {
  std::string pod_uid;
  std::string name;
  CpuSet cpus;
};

std::vector<Container> ExclusiveContainers(const kubelet::CpuManagerState& state) {
  std::vector<Container> out;
  for (const auto& [pod, containers] : state.entries)
    for (const auto& [name, cpus] : containers) out.push_back({pod, name, cpus});
  return out;
}

CpuSet VcpuCpus(const AuditDomain& d) {
  CpuSet all;
  for (const auto& cpus : d.actual.vcpus) all |= cpus;
  return all;
}

// The domain's container: by pod UID (its compute container holds the
// exclusive CPUs; the pod's only exclusive container otherwise), else the
// container holding most of its vCPU CPUs.
const Container* ContainerOf(const KubeletAuditDomain& k, const std::vector<Container>& all) {
  if (k.pod_uid) {
    const Container* any = nullptr;
    for (const auto& c : all) {
      if (c.pod_uid != *k.pod_uid) continue;
      if (c.name == "compute") return &c;
      any = &c;
    }
    if (any) return any;
  }
  const CpuSet vcpus = VcpuCpus(k.domain);
  const Container* best = nullptr;
  unsigned best_count = 0;
  for (const auto& c : all) {
    const unsigned n = (c.cpus & vcpus).Count();
    if (n > best_count) best = &c, best_count = n;
  }
  return best;
}

// rt1 vCPU threads run SCHED_FIFO, as KubeVirt sets them (<vcpusched fifo>).
std::optional<AuditViolation> FifoViolation(const KubeletAuditDomain& k) {
  CpuSet cpus;
  std::string threads;
  const auto& policies = *k.vcpu_thread_policies;
  for (size_t v = 0; v < policies.size(); ++v) {
    if (policies[v] == SCHED_FIFO) continue;
    threads += (threads.empty() ? "" : ", ") + std::to_string(v);
    if (v < k.domain.actual.vcpus.size()) cpus |= k.domain.actual.vcpus[v];
  }
  if (threads.empty()) return std::nullopt;
  return AuditViolation{k.domain.name, kubelet_rule::kRealtimeVcpuNotFifo, cpus,
                        "realtime vCPU thread(s) " + threads + " are not SCHED_FIFO",
                        "give the VMI spec.domain.cpu.realtime (KubeVirt sets <vcpusched fifo>)"};
}

std::string PodName(const Container& c) { return "pod " + c.pod_uid + " container " + c.name; }

class KubeletAudit {
 public:
  KubeletAudit(const HostResources& host, const kubelet::CpuManagerState& state, bool full_pcpus)
      : host_(host), containers_(ExclusiveContainers(state)), full_pcpus_only_(full_pcpus) {}

  void Check(const KubeletAuditDomain& k) {
    const AuditDomain& d = k.domain;
    const CpuSet vcpus = VcpuCpus(d);
    if (d.dedicated) CheckCpuset(k, vcpus);
    if (d.dedicated && d.isolate_emulator_thread && d.actual.emulator) {
      const CpuSet on = *d.actual.emulator & vcpus;
      if (!on.Empty())
        Add(d, audit_rule::kEmulatorOnVcpuCpu, on,
            "the emulator thread may run on CPUs " + on.ToList() + " of its own vCPUs",
            "check the VMI's isolateEmulatorThread and virt-launcher's pinning");
    }
    if (d.realtime && k.vcpu_thread_policies)
      if (auto v = FifoViolation(k)) found_.push_back(std::move(*v));
  }

  std::vector<AuditViolation> Take() { return std::move(found_); }

 private:
  void CheckCpuset(const KubeletAuditDomain& k, const CpuSet& vcpus) {
    const AuditDomain& d = k.domain;
    const Container* c = ContainerOf(k, containers_);
    if (!c) {
      Add(d, kubelet_rule::kNoExclusiveCpuset, vcpus,
          "its vCPUs run on CPUs " + vcpus.ToList() +
              " that kubelet's cpu_manager_state gives no container exclusively",
          "give the VMI dedicatedCpuPlacement in a Guaranteed pod (integer CPU requests)");
      return;
    }
    const CpuSet outside = vcpus - c->cpus;
    if (!outside.Empty())
      Add(d, kubelet_rule::kVcpuOutsideContainerCpuset, outside,
          "vCPUs run on CPUs " + outside.ToList() + " outside the exclusive cpuset " +
              c->cpus.ToList() + " of " + PodName(*c),
          "restart the VMI so virt-launcher pins inside its container's cpuset");
    CheckSiblings(d, *c);
  }

  void CheckSiblings(const AuditDomain& d, const Container& mine) {
    for (const auto& other : containers_) {
      if (other.pod_uid == mine.pod_uid) continue;
      CpuSet siblings;
      mine.cpus.ForEach([&](unsigned cpu) {
        if (const CoreInfo* core = host_.CoreOf(cpu)) siblings |= core->pus & other.cpus;
      });
      if (siblings.Empty()) continue;
      Add(d, kubelet_rule::kSiblingGivenToAnotherPod, siblings,
          "CPUs " + siblings.ToList() + " are SMT siblings of its cores, given to " +
              PodName(other) +
              (full_pcpus_only_ ? " although full-pcpus-only is on"
                                : " (full-pcpus-only is off, so kubelet allows it)"),
          "set cpuManagerPolicyOptions full-pcpus-only: \"true\" (kvhost-agent kubelet-config)");
    }
  }

  void Add(const AuditDomain& d, const char* rule, CpuSet cpus, std::string detail,
           std::string fix) {
    found_.push_back({d.name, rule, std::move(cpus), std::move(detail), std::move(fix)});
  }

  const HostResources& host_;
  std::vector<Container> containers_;
  bool full_pcpus_only_;
  std::vector<AuditViolation> found_;
};

}  // namespace

std::vector<AuditViolation> AuditKubeletPlacement(const HostResources& host,
                                                  const kubelet::CpuManagerState& cpu_state,
                                                  bool full_pcpus_only,
                                                  const std::vector<KubeletAuditDomain>& domains) {
  KubeletAudit audit(host, cpu_state, full_pcpus_only);
  for (const auto& d : domains) audit.Check(d);
  return audit.Take();
}

std::optional<std::string> PodUidFromCgroup(const std::string& cgroup_text) {
  static const std::regex pod(
      R"(pod([0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12}))");
  std::smatch m;
  if (!std::regex_search(cgroup_text, m, pod)) return std::nullopt;
  std::string uid = m[1];
  std::replace(uid.begin(), uid.end(), '_', '-');
  return uid;
}

}  // namespace kvhost
