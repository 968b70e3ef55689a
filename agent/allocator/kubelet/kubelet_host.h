// kubelet mode: the node as kubelet sees it when a KubeVirt virt-launcher pod
// arrives. The scheduler's resource fit (NodeResourcesFit: requests against
// allocatable cpu, memory and each hugepage size) decides first, then the CPU,
// memory and topology managers admit and place (kubelet_admission.h). Pure:
// built by agent/live from kubelet's files, then only copied and admitted into.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/allocator/kubelet/kubelet_admission.h"
#include "agent/allocator/kubelet/kubevirt_pod.h"
#include "agent/allocator/refusal_lines.h"
#include "agent/catalog/instance_type.h"
#include "base/inline_vector.h"

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

// One pod's requests in resource-name order, the order NodeResourcesFit
// checks (and so names the first shortfall in): cpu, a hugepage size per
// container, memory. Kept inline: capacity builds one per instance type per
// count, and a heap block (a map's one per entry) cost more than the sums.
using ResourceList = InlineVector<std::pair<std::string, uint64_t>, 4>;

// The sum of a pod's container requests, as the scheduler adds them up.
ResourceList PodRequests(const kubevirt::PodResources& pod);

// NodeResourcesFit's refusal of a pod: the first resource short, with the
// numbers. Kept as numbers until a line is wanted (FormatShortfall,
// AddNotAdmittedLine), so a refusal is worded once, in one go.
struct Shortfall {
  std::string_view resource;  // into the `need` it was found in
  uint64_t amount = 0, allocatable = 0, requested = 0;
};
std::optional<Shortfall> NodeResourcesUnfit(const KubeletHost& host, const ResourceList& need);
// "Insufficient cpu: pod requests 2000, node allocatable 1000, requested 0".
std::string FormatShortfall(const Shortfall& shortfall);

// The virt-launcher pod of one instance type and what the scheduler adds up
// for it: the same for every pod of that type, so computed once per type.
struct KubeVirtPodRequest {
  kubevirt::PodResources pod;
  ResourceList need;
};
// Kept per pod shape (kubevirt::PodShape) for the life of the thread: a
// pure function of the shape, asked for every type at every capacity count.
std::shared_ptr<const KubeVirtPodRequest> RequestFor(const KubeletHost& host,
                                                     const InstanceType& type);

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

// The allocator's refusal line for a pod kubelet would not admit, added to `lines`.
void AddNotAdmittedLine(RefusalLines& lines, const AdmitResult& refused);
void AddNotAdmittedLine(RefusalLines& lines, const Shortfall& unfit);

// The pod leaves: its CPUs, memory blocks and requests go back.
void RemovePod(KubeletHost& host, const std::string& uid);

}  // namespace kvhost::kubelet
