// kubelet's admission of a KubeVirt virt-launcher pod on a node whose CPU,
// memory and topology managers are modelled here: per container, the CPU and
// memory managers' hints are merged by the topology manager policy, then the
// static CPU policy and the Static memory policy allocate for the merged hint
// (pkg/kubelet/cm/topologymanager/scope_container.go's order). Pure.
// Not modelled yet: the pod scope, and the scheduler's own resource fit.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agent/allocator/kubelet/kubelet_memory.h"
#include "agent/allocator/kubelet/kubelet_static_policy.h"
#include "agent/allocator/kubelet/kubevirt_pod.h"

namespace kvhost::kubelet {

// The policies never change once built and are shared between copies (capacity
// copies the node once per type it counts, Place once per try); the states are
// values.
struct KubeletNode {
  std::shared_ptr<const StaticPolicy> cpu;
  CpuManagerAssignments cpu_state;
  std::shared_ptr<const MemoryStaticPolicy> memory;  // null: memoryManagerPolicy None
  MemoryManagerAssignments memory_state;
  TopologyPolicy topology = TopologyPolicy::kNone;
  TopologyPolicyOptions topology_options;
  NumaInfo numa;
};

struct AdmitResult {
  bool admitted = false;
  std::string reason;  // why not, kubelet's words where it has them
};

// Admits `pod` as pod `uid`, updating the node's manager states when it is.
AdmitResult AdmitPod(KubeletNode& node, const std::string& uid, const kubevirt::PodResources& pod);
// AdmitPod without its rollback: a refused pod may leave part of itself in
// `node`. For callers that drop the node at the first refusal (capacity's
// counts), so that a try copies no node.
AdmitResult AdmitPodInPlace(KubeletNode& node, const std::string& uid,
                            const kubevirt::PodResources& pod);

// How many more copies of `pod` the managers admit (at most `limit`).
unsigned CountAdmitted(KubeletNode node, const kubevirt::PodResources& pod, unsigned limit);

}  // namespace kvhost::kubelet
