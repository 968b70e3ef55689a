#include "agent/allocator/kubelet/kubelet_admission.h"

#include "base/sizes.h"

namespace kvhost::kubelet {
namespace {

MemoryRequests RequestsOf(const kubevirt::ContainerResources& c) {
  MemoryRequests r;
  if (c.memory_request > 0) r["memory"] = c.memory_request;
  if (c.hugepage_bytes > 0) r[HugepageResourceName(c.hugepage_kib)] = c.hugepage_bytes;
  return r;
}

// The hint providers' answers for one container, as the topology manager collects them.
std::vector<ProviderHints> Hints(const KubeletNode& node, const std::string& uid,
                                 const std::string& name, const kubevirt::ContainerResources& c,
                                 bool guaranteed, int cpus) {
  std::vector<ProviderHints> providers;
  ProviderHints cpu;
  if (auto hints = node.cpu->ContainerHints(node.cpu_state, uid, name, cpus)) cpu["cpu"] = *hints;
  providers.push_back(cpu);
  ProviderHints memory;
  if (node.memory && guaranteed)
    for (auto& [type, hints] :
         node.memory->CalculateHints(node.memory_state.machine, RequestsOf(c)))
      memory[type] = hints;
  providers.push_back(memory);
  return providers;
}

}  // namespace

AdmitResult AdmitPod(KubeletNode& node, const std::string& uid, const kubevirt::PodResources& pod) {
  KubeletNode trial = node;  // a rejected pod leaves nothing behind
  AdmitResult result = AdmitPodInPlace(trial, uid, pod);
  if (result.admitted) node = std::move(trial);
  return result;
}

AdmitResult AdmitPodInPlace(KubeletNode& trial, const std::string& uid,
                            const kubevirt::PodResources& pod) {
  const bool guaranteed = pod.qos == kubevirt::QosClass::kGuaranteed;
  for (const auto& c : pod.containers) {
    const std::string name(c.name);  // the managers' books are keyed by owned names
    const int cpus = guaranteed ? GuaranteedCpus(c.cpu_request_milli, c.cpu_limit_milli) : 0;
    const MergeResult merged = MergeHints(trial.topology, trial.numa, trial.topology_options,
                                          Hints(trial, uid, name, c, guaranteed, cpus));
    if (!merged.admit) return {false, "Topology Affinity Error: container " + name};
    if (std::string err =
            trial.cpu->Allocate(trial.cpu_state, uid, name, cpus, merged.hint.affinity);
        !err.empty())
      return {false, err};
    if (trial.memory && guaranteed)
      if (std::string err =
              trial.memory->Allocate(trial.memory_state, uid, name, RequestsOf(c), merged.hint);
          !err.empty())
        return {false, err};
  }
  return {true, ""};
}

unsigned CountAdmitted(KubeletNode node, const kubevirt::PodResources& pod, unsigned limit) {
  unsigned n = 0;
  // `node` is this count's own copy and is dropped after the first refusal.
  while (n < limit && AdmitPodInPlace(node, "kvhost-count-" + std::to_string(n), pod).admitted) ++n;
  return n;
}

}  // namespace kvhost::kubelet
