#include "agent/allocator/kubelet/kubelet_policy.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include "agent/allocator/refusal_text.h"
#include "base/sizes.h"

namespace kvhost::kubelet {

// Pods kubelet's model admitted in Place, each with the node after its
// admission and the node state it was admitted to: Commit adopts the node
// after, on an allocator whose node is still that state. An admission whose
// node state is gone can never be committed, and gives its node back. Shared
// by a policy's copies, which may live on other threads: hence the lock.
class PendingAdmissions {
 public:
  void Add(const std::shared_ptr<const KubeletHost>& before,
           std::shared_ptr<const KubeletHost> after, const Placement& placement) {
    const std::lock_guard lock(mutex_);
    DropNodesOfGoneStates();
    std::erase_if(admitted_, [&](const Admission& a) {
      return Same(a.before, before) && a.placement.vm == placement.vm;
    });
    admitted_.push_back({before, std::move(after), placement});
    if (admitted_.size() > kKept) admitted_.pop_front();
  }

  // The node after `p`'s admission to `now`; throws AllocationConflict when
  // kubelet did not place `p`, or placed it on another state of the node.
  std::shared_ptr<const KubeletHost> Take(const std::shared_ptr<const KubeletHost>& now,
                                          const Placement& p) {
    const std::lock_guard lock(mutex_);
    bool elsewhere = false;
    for (const Admission& a : admitted_) {
      if (a.placement != p) continue;
      if (a.after && Same(a.before, now)) return a.after;
      elsewhere = true;
    }
    if (elsewhere)
      throw AllocationConflict("cannot commit " + p.vm +
                               ": kubelet admitted it to another state of the node");
    throw AllocationConflict("cannot commit " + p.vm +
                             ": in kubelet mode only kubelet's own placement can be recorded");
  }

 private:
  struct Admission {
    std::weak_ptr<const KubeletHost> before;
    std::shared_ptr<const KubeletHost> after;  // null once `before` is gone
    Placement placement;
  };
  // Admissions are kept even once committed: the same placement may be
  // committed on every copy of the allocator whose node is `before`.
  // Placing this many pods without committing them is no allocator's use.
  static constexpr size_t kKept = 256;

  static bool Same(const std::weak_ptr<const KubeletHost>& a,
                   const std::shared_ptr<const KubeletHost>& b) {
    return !a.owner_before(b) && !b.owner_before(a);
  }
  void DropNodesOfGoneStates() {
    for (Admission& a : admitted_)
      if (a.after && a.before.expired()) a.after.reset();
  }

  std::mutex mutex_;
  std::deque<Admission> admitted_;
};

namespace {

// The virt-launcher pins vCPU i to the i-th CPU of the compute container's
// exclusive set and the emulator to what is left (KubeVirt's isolateEmulatorThread).
void FillCpus(const KubeletHost& node, const std::string& uid, const InstanceType& type,
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
void FillMemory(const KubeletHost& node, const std::string& uid, Placement& p) {
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
    if (const auto page_kib = HugepageSizeKib(block.type))
      p.hugepages.push_back({first, *page_kib, block.size / (*page_kib * 1024)});
  }
}

}  // namespace

KubeletPolicy::KubeletPolicy(std::shared_ptr<const KubeletHost> node)
    : node_(std::move(node)), pending_(std::make_shared<PendingAdmissions>()) {}

std::unique_ptr<PlacementPolicy> KubeletPolicy::Clone() const {
  return std::make_unique<KubeletPolicy>(*this);
}

CpuSet KubeletPolicy::HeldWhenInstalled() const {
  CpuSet held;
  for (const auto& [pod, containers] : node_->node.cpu_state.assignments)
    for (const auto& [name, cpus] : containers) held |= cpus;
  return held;
}

PlaceResult KubeletPolicy::Place(const Allocator&, const InstanceType& type,
                                 const std::string& vm) const {
  auto trial = std::make_shared<KubeletHost>(*node_);
  const auto request_for_type = RequestFor(*trial, type);
  const KubeVirtPodRequest& request = *request_for_type;
  const AdmitResult admission = AdmitKubeVirtPod(*trial, vm, request);
  PlaceResult r;
  if (!admission.admitted) {
    AddNotAdmittedLine(r.reasons, admission);
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
  pending_->Add(node_, std::move(trial), p);
  r.placement = std::move(p);
  return r;
}

void KubeletPolicy::Commit(const Allocator& books, const Placement& p) {
  if (books.placements().count(p.vm))
    throw AllocationConflict("cannot commit " + p.vm + ": already placed");
  node_ = pending_->Take(node_, p);
}

void KubeletPolicy::Release(const std::string& vm) {
  auto after = std::make_shared<KubeletHost>(*node_);
  RemovePod(*after, vm);
  node_ = std::move(after);
}

// kubelet's node alone decides where the next pod goes (Place's other
// refusals do not change between tries, and the allocator's books are not
// read), so every try admits into one scratch copy of the node. Place copies
// the node, pods and all, per try, which made a count quadratic in the pods
// admitted.
TypeCapacity KubeletPolicy::Count(const Allocator& books, const InstanceType& type, unsigned limit,
                                  TryNames& names) const {
  TypeCapacity out;
  out.type = &type;
  out.blockers = books.RefusalsBeforePlacing(type, names.Current());
  if (!out.blockers.empty()) return out;
  const auto request_for_type = RequestFor(*node_, type);
  const KubeVirtPodRequest& request = *request_for_type;
  // A type the scheduler's fit refuses at once (most of them on a small host)
  // costs no copy of the node: the first try would refuse it with these words.
  if (const auto unfit = NodeResourcesUnfit(*node_, request.need)) {
    AddNotAdmittedLine(out.blockers, *unfit);
    return out;
  }
  KubeletHost scratch = *node_;
  for (; out.count < limit; ++out.count) {
    const std::string& vm = names.Try(out.count);
    if (out.count > 0 && books.placements().count(vm)) {
      AddLine(out.blockers, FMT_COMPILE("VM {} is already placed"), vm);
      break;
    }
    const AdmitResult admitted = AdmitKubeVirtPodUnkept(scratch, vm, request);
    if (!admitted.admitted) {
      AddNotAdmittedLine(out.blockers, admitted);
      break;
    }
  }
  return out;
}

}  // namespace kvhost::kubelet
