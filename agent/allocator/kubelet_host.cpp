#include "agent/allocator/kubelet_host.h"

#include <fmt/compile.h>
#include <fmt/format.h>

namespace kvhost::kubelet {

std::string NodeResourcesUnfit(const KubeletHost& host, const ResourceAmounts& need) {
  for (const auto& [resource, amount] : need) {
    if (amount == 0) continue;
    const auto a = host.allocatable.find(resource);
    const uint64_t allocatable = a == host.allocatable.end() ? 0 : a->second;
    const auto r = host.requested.find(resource);
    const uint64_t requested = r == host.requested.end() ? 0 : r->second;
    if (requested + amount > allocatable)
      // Compiled: on a small host nearly every type is refused here, per count.
      return fmt::format(FMT_COMPILE("Insufficient {}: pod requests {}, node allocatable {}, "
                                     "requested {}"),
                         resource, amount, allocatable, requested);
  }
  return "";
}

ResourceAmounts PodRequests(const kubevirt::PodResources& pod) {
  ResourceAmounts sum;
  for (const auto& c : pod.containers) {
    sum["cpu"] += c.cpu_request_milli;
    sum["memory"] += c.memory_request;
    for (const auto& [page_kib, bytes] : c.hugepages) sum[HugepageResourceName(page_kib)] += bytes;
  }
  return sum;
}

KubeVirtPodRequest RequestFor(const KubeletHost& host, const InstanceType& type) {
  KubeVirtPodRequest out{kubevirt::PodFor(type, host.kubevirt), {}};
  out.need = PodRequests(out.pod);
  return out;
}

AdmitResult AdmitKubeVirtPod(KubeletHost& host, const std::string& uid,
                             const KubeVirtPodRequest& request) {
  AdmitResult result = AdmitKubeVirtPodUnkept(host, uid, request);
  if (result.admitted) host.pods[uid] = request.need;
  return result;
}

AdmitResult AdmitKubeVirtPodUnkept(KubeletHost& host, const std::string& uid,
                                   const KubeVirtPodRequest& request) {
  if (std::string why = NodeResourcesUnfit(host, request.need); !why.empty()) return {false, why};
  AdmitResult result = AdmitPodInPlace(host.node, uid, request.pod);
  if (!result.admitted) return result;
  for (const auto& [resource, amount] : request.need) host.requested[resource] += amount;
  return result;
}

std::string NotAdmittedLine(const AdmitResult& refused) {
  return "kubelet would not admit the virt-launcher pod: " + refused.reason;
}

void RemovePod(KubeletHost& host, const std::string& uid) {
  auto pod = host.pods.find(uid);
  if (pod != host.pods.end()) {
    for (const auto& [resource, amount] : pod->second) host.requested[resource] -= amount;
    host.pods.erase(pod);
  }
  KubeletNode& node = host.node;
  if (auto held = node.cpu_state.assignments.find(uid); held != node.cpu_state.assignments.end()) {
    std::vector<std::string> containers;
    for (const auto& [name, cpus] : held->second) containers.push_back(name);
    for (const auto& name : containers) node.cpu->RemoveContainer(node.cpu_state, uid, name);
  }
  if (!node.memory) return;
  if (auto held = node.memory_state.entries.find(uid); held != node.memory_state.entries.end()) {
    std::vector<std::string> containers;
    for (const auto& [name, blocks] : held->second) containers.push_back(name);
    for (const auto& name : containers) node.memory->RemoveContainer(node.memory_state, uid, name);
  }
}

}  // namespace kvhost::kubelet
