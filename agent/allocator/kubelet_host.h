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

// NodeResourcesFit's refusal of a pod needing `need`, with the numbers; empty
// when it fits.
std::string NodeResourcesUnfit(const KubeletHost& host, const ResourceAmounts& need);

// The virt-launcher pod of one instance type and what the scheduler adds up
// for it: the same for every pod of that type, so computed once per type.
struct KubeVirtPodRequest {
  kubevirt::PodResources pod;
  ResourceAmounts need;
};
KubeVirtPodRequest RequestFor(const KubeletHost& host, const InstanceType& type);

// Admits the virt-launcher pod as pod `uid`: the scheduler's fit, then
// kubelet's managers. A refused pod may leave part of itself in `host`, so
// callers admit into a copy they drop on refusal (Place's trial, capacity's
// scratch node) and no copy is made here.
AdmitResult AdmitKubeVirtPod(KubeletHost& host, const std::string& uid,
                             const KubeVirtPodRequest& request);
// AdmitKubeVirtPod for capacity's scratch node, dropped after the count: the
// pod's requests are added to `requested` but the pod is not recorded in
// `pods`: nothing reads a scratch node's pods back, and a count admits
// hundreds of shared pods.
AdmitResult AdmitKubeVirtPodUnkept(KubeletHost& host, const std::string& uid,
                                   const KubeVirtPodRequest& request);

// The allocator's refusal line for a pod kubelet would not admit.
std::string NotAdmittedLine(const AdmitResult& refused);

// The pod leaves: its CPUs, memory blocks and requests go back.
void RemovePod(KubeletHost& host, const std::string& uid);

}  // namespace kvhost::kubelet
