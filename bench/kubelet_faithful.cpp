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
  allocator_.UseKubeletPlacement(LoadKubeletHost(model.root, model, kubelet, settings));
}

bool KubeletFaithfulPolicy::Admit(const InstanceType& type, unsigned vm) {
  PlaceResult r = allocator_.Place(type, std::to_string(vm));
  if (!r.placement) return false;
  allocator_.Commit(std::move(*r.placement));
  return true;
}

void KubeletFaithfulPolicy::Depart(unsigned vm) { allocator_.Release(std::to_string(vm)); }

}  // namespace kvhost::bench
