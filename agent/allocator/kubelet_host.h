// kubelet mode: the node as kubelet sees it when a KubeVirt virt-launcher pod
// arrives. The scheduler's resource fit (NodeResourcesFit: requests against
// allocatable cpu, memory and each hugepage size) decides first, then the CPU,
// memory and topology managers admit and place (kubelet_admission.h). Pure:
// built by agent/live from kubelet's files, then only copied and admitted into.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "agent/allocator/kubelet_admission.h"
#include "agent/allocator/kubevirt_pod.h"
#include "agent/catalog/instance_type.h"

namespace kvhost::kubelet {

using ResourceAmounts =
    std::map<std::string, uint64_t>;  // "cpu" (milli), "memory", "hugepages-1Gi" (bytes)

struct KubeletHost {
  KubeletNode node;
  kubevirt::Settings kubevirt;
  ResourceAmounts allocatable;                  // node status allocatable
  ResourceAmounts requested;                    // what admitted pods ask for
  std::map<std::string, ResourceAmounts> pods;  // pods admitted here (uid -> requests)
};

// The sum of a pod's container requests, as the scheduler adds them up.
ResourceAmounts PodRequests(const kubevirt::PodResources& pod);

struct KubeVirtAdmission {
  AdmitResult result;
  kubevirt::PodResources pod;
};

// Admits the virt-launcher pod of `type` as pod `uid`: the scheduler's fit,
// then kubelet's managers. Updates `host` only when admitted.
KubeVirtAdmission AdmitKubeVirtPod(KubeletHost& host, const std::string& uid,
                                   const InstanceType& type);

// The pod leaves: its CPUs, memory blocks and requests go back.
void RemovePod(KubeletHost& host, const std::string& uid);

}  // namespace kvhost::kubelet
