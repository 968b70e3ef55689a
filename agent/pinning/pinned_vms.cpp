#include "agent/pinning/pinned_vms.h"

#include "agent/state/allocation_convert.h"

namespace kvhost {

void PinnedVmsDraft::Add(PinnedVm vm, bool running) {
  if (running)
    allocator.CommitRunning(vm.placement);
  else
    allocator.Commit(vm.placement);
  const std::string uuid = vm.placement.vm;
  vms[uuid] = std::move(vm);
}

PinnedVms::PinnedVms(std::shared_ptr<const HostResources> host, StateStore store)
    : host_(host), store_(std::move(store)), allocator_(std::move(host)) {}

const PinnedVm* PinnedVms::Find(const std::string& uuid) const {
  auto it = vms_.find(uuid);
  return it == vms_.end() ? nullptr : &it->second;
}

void PinnedVms::Add(PinnedVm vm) {
  Allocator before = allocator_;
  auto vms_before = vms_;
  auto unpinned_before = unpinned_;
  allocator_.Commit(vm.placement);
  const std::string uuid = vm.placement.vm;
  vms_[uuid] = std::move(vm);
  unpinned_.erase(uuid);
  try {
    Store();
  } catch (...) {
    // Unsaved is undecided (disk full, read-only): memory must not hold what
    // the state file does not, or the next save would record it unapplied.
    allocator_ = std::move(before);
    vms_ = std::move(vms_before);
    unpinned_ = std::move(unpinned_before);
    throw;
  }
}

bool PinnedVms::Remove(const std::string& uuid, std::optional<UnpinnedMark> unpinned) {
  Allocator before = allocator_;
  auto vms_before = vms_;
  auto unpinned_before = unpinned_;
  const bool held = allocator_.Release(uuid);
  if (held) vms_.erase(uuid);
  bool marks_changed = unpinned_.erase(uuid) > 0;
  if (unpinned) {
    unpinned_[uuid] = std::move(*unpinned);
    marks_changed = true;
  }
  try {
    if (held || marks_changed) Store();
  } catch (...) {
    // A free that could not be saved did not happen: the VM keeps what it held.
    allocator_ = std::move(before);
    vms_ = std::move(vms_before);
    unpinned_ = std::move(unpinned_before);
    throw;
  }
  return held;
}

void PinnedVms::SetSharedCpus(const std::string& uuid, const CpuSet& cpus) {
  allocator_.SetSharedCpus(uuid, cpus);
  vms_.at(uuid).placement = allocator_.placements().at(uuid);
  Store();
}

void PinnedVms::SetSteeredIrqs(const std::string& uuid, std::vector<SavedIrqAffinity> irqs) {
  vms_.at(uuid).steered_irqs = std::move(irqs);
  Store();
}

void PinnedVms::Replace(PinnedVmsDraft draft) {
  allocator_ = std::move(draft.allocator);
  vms_ = std::move(draft.vms);
  unpinned_ = std::move(draft.unpinned);
  Store();
}

void PinnedVms::Store() const {
  v1::AgentState state;
  for (const auto& [uuid, vm] : vms_) {
    v1::Allocation* a = state.add_allocations();
    *a = AllocationFromPlacement(vm.placement, uuid, vm.uri);
    a->set_domain_name(vm.name);
    a->set_type_source(vm.type_source);
    for (const auto& irq : vm.steered_irqs) {
      auto* s = a->add_steered_irqs();
      s->set_irq(irq.irq);
      s->set_original_cpus(irq.affinity.ToList());
    }
  }
  for (const auto& [uuid, mark] : unpinned_) {
    v1::UnpinnedDomain* u = state.add_unpinned();
    u->set_domain_uuid(uuid);
    u->set_domain_name(mark.name);
    u->set_connection_uri(mark.uri);
    u->set_domain_id(mark.domain_id);
  }
  store_.Save(state);
}

}  // namespace kvhost
