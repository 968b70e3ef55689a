#include "agent/kubelet/kubelet_config.h"
#include "agent/live/kubelet_live.h"
#include "bench/packing_policies.h"

namespace kvhost::bench {

KubeletFaithfulPolicy::KubeletFaithfulPolicy(const HostModel& model, const AgentConfig& config,
                                             std::shared_ptr<const HostResources> host)
    : allocator_(host) {
  // The fragment the agent would hand kubelet, read back as kubelet reads it.
  const kubelet::KubeletConfig kubelet = kubelet::ParseKubeletConfig(
      kubelet::KubeletConfigFragment(AgentIntentFor(*host, model, config)), "kubelet-config");
  kubevirt::Settings settings;
  settings.align_cpus = true;
  // The fixture root holds no kubelet checkpoints: kubelet's fresh state.
  node_ = *LoadKubeletHost(model, kubelet, settings);
}

bool KubeletFaithfulPolicy::Admit(const InstanceType& type, unsigned vm) {
  const std::string uid = std::to_string(vm);
  if (!allocator_.RefusalsBeforePlacing(type, uid).empty()) return false;
  const auto request = kubelet::RequestFor(node_, type);  // kept per pod shape
  // A refused pod may leave part of itself behind (a container's CPUs or
  // memory blocks); admission changes nothing else, so this undoes it exactly.
  const CpuSet shared_before = node_.node.cpu_state.default_cpu_set;
  const kubelet::MachineMemoryState memory_before = node_.node.memory_state.machine;
  if (kubelet::AdmitKubeVirtPod(node_, uid, *request).admitted) return true;
  node_.node.cpu_state.default_cpu_set = shared_before;
  node_.node.cpu_state.assignments.erase(uid);
  node_.node.memory_state.machine = memory_before;
  node_.node.memory_state.entries.erase(uid);
  return false;
}

void KubeletFaithfulPolicy::Depart(unsigned vm) { kubelet::RemovePod(node_, std::to_string(vm)); }

}  // namespace kvhost::bench
