// The allocator in kubelet mode: kubelet's model places, the allocator keeps
// its books (held CPUs, pages, memory) so reports read the same in both modes.
#include <algorithm>

#include "agent/allocator/allocator.h"
#include "agent/allocator/kubelet_host.h"

namespace kvhost {
namespace {

// The virt-launcher pins vCPU i to the i-th CPU of the compute container's
// exclusive set and the emulator to what is left (KubeVirt's isolateEmulatorThread).
void FillCpus(const kubelet::KubeletHost& node, const std::string& uid, const InstanceType& type,
              Placement& p) {
  const auto pod = node.node.cpu_state.assignments.find(uid);
  if (pod == node.node.cpu_state.assignments.end()) return;
  const auto compute = pod->second.find("compute");
  if (compute == pod->second.end()) return;
  std::vector<unsigned> cpus;
  compute->second.ForEach([&](unsigned cpu) { cpus.push_back(cpu); });
  const size_t vcpus = std::min<size_t>(type.vcpus, cpus.size());
  p.vcpu_cpus.assign(cpus.begin(), cpus.begin() + static_cast<long>(vcpus));
  if (cpus.size() > vcpus) p.emulator_cpu = cpus[vcpus];
}

// Where the memory manager put the compute container's memory and pages.
void FillMemory(const kubelet::KubeletHost& node, const std::string& uid, Placement& p) {
  const auto pod = node.node.memory_state.entries.find(uid);
  if (pod == node.node.memory_state.entries.end()) return;
  const auto compute = pod->second.find("compute");
  if (compute == pod->second.end()) return;
  for (const auto& block : compute->second) {
    if (block.numa_affinity.empty()) continue;
    const auto first = static_cast<unsigned>(block.numa_affinity.front());
    if (block.type == "memory") {
      for (int n : block.numa_affinity) p.numa_nodes.push_back(static_cast<unsigned>(n));
      continue;
    }
    // "hugepages-<size>": a block over a node group is booked on its first node.
    const uint64_t page_kib = block.type.ends_with("Gi")   ? 1024 * 1024
                              : block.type.ends_with("Mi") ? 2048
                                                           : 0;
    if (page_kib) p.hugepages.push_back({first, page_kib, block.size / (page_kib * 1024)});
  }
}

}  // namespace

void Allocator::UseKubeletPlacement(std::shared_ptr<const kubelet::KubeletHost> node) {
  kubelet_ = std::move(node);
  for (const auto& [pod, containers] : kubelet_->node.cpu_state.assignments)
    for (const auto& [name, cpus] : containers) held_ |= cpus;
}

PlaceResult Allocator::PlaceByKubelet(const InstanceType& type, const std::string& vm) const {
  auto trial = std::make_shared<kubelet::KubeletHost>(*kubelet_);
  const auto request_for_type = kubelet::RequestFor(*trial, type);
  const kubelet::KubeVirtPodRequest& request = *request_for_type;
  const kubelet::AdmitResult admission = kubelet::AdmitKubeVirtPod(*trial, vm, request);
  PlaceResult r;
  if (!admission.admitted) {
    kubelet::AddNotAdmittedLine(r.reasons, admission);
    return r;  // the trial, refused pod and all, is dropped
  }
  Placement p;
  p.vm = vm;
  p.instance_type = type.name;
  p.dedicated = type.Dedicated();
  FillCpus(*trial, vm, type, p);
  FillMemory(*trial, vm, p);
  const uint64_t memory = request.pod.containers.front().memory_request;
  p.memory_kib = p.hugepages.empty() ? memory / 1024 : 0;
  if (!p.dedicated) p.shared_cpus = trial->node.cpu_state.default_cpu_set;
  p.kubelet_after = std::move(trial);
  p.kubelet_before = kubelet_;
  r.placement = std::move(p);
  return r;
}

void Allocator::CommitByKubelet(const Placement& p) {
  if (!p.kubelet_after)
    throw AllocationConflict("cannot commit " + p.vm +
                             ": in kubelet mode only kubelet's own placement can be recorded");
  if (p.kubelet_before != kubelet_)
    throw AllocationConflict("cannot commit " + p.vm +
                             ": kubelet admitted it to another state of the node");
  kubelet_ = p.kubelet_after;
}

void Allocator::ReleaseByKubelet(const std::string& vm) {
  auto after = std::make_shared<kubelet::KubeletHost>(*kubelet_);
  kubelet::RemovePod(*after, vm);
  kubelet_ = std::move(after);
}

}  // namespace kvhost
