#include "agent/pinning/kubelet_survey.h"

#include <spdlog/spdlog.h>

#include "agent/pinning/qemu_threads.h"

namespace kvhost {
namespace {

void AddProcFacts(const SysfsRoot& root, KubeletAuditDomain& k) {
  const std::optional<int> pid = QemuPid(root, k.domain.name);
  if (!pid) return;
  const std::string proc = "proc/" + std::to_string(*pid);
  if (auto cgroup = root.ReadOptional(proc + "/cgroup")) k.pod_uid = PodUidFromCgroup(*cgroup);
  std::vector<int> policies(k.domain.actual.vcpus.size(), -1);
  bool any = false;
  for (const QemuThread& t : ReadQemuThreads(root, *pid)) {
    const std::optional<unsigned> v = VcpuIndexOfThread(t.name);
    if (!v || *v >= policies.size()) continue;
    policies[*v] = t.policy;
    any = true;
  }
  if (any) k.vcpu_thread_policies = std::move(policies);
}

}  // namespace

std::vector<KubeletAuditDomain> SurveyKubeletDomains(std::vector<AuditDomain> domains,
                                                     const SysfsRoot& root) {
  std::vector<KubeletAuditDomain> out;
  for (auto& d : domains) {
    KubeletAuditDomain k{std::move(d), std::nullopt, std::nullopt};
    try {
      AddProcFacts(root, k);
    } catch (const std::exception& e) {
      // Without /proc the pod is found by its CPUs and FIFO is not judged.
      spdlog::warn("domain '{}': its QEMU process could not be read: {}", k.domain.name, e.what());
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace kvhost
