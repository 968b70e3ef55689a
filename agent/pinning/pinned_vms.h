// What the pinner holds: one record per VM it placed, mirrored into the
// allocator's accounting, and stored to the state file on every change. As
// kubelet's cpumanager stateCheckpoint does (every setter stores), no caller
// decides when to save: a change that returned is durable.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/pinning/irq_steering.h"
#include "agent/state/state_store.h"

namespace kvhost {

// Everything known about one placed VM, by domain UUID.
struct PinnedVm {
  Placement placement;
  std::string uri;                             // the libvirt connection it runs behind
  std::string name;                            // its domain name
  std::string type_source;                     // how its instance type was found
  std::vector<SavedIrqAffinity> steered_irqs;  // to restore when it goes
};

// A running domain the operator unpinned: left unplaced until it restarts
// (README "Pinning"), across restarts of the agent too.
struct UnpinnedMark {
  std::string name;
  std::string uri;
  unsigned domain_id = 0;  // libvirt's id of the unpinned instance; a restart changes it
};

// A set of records being rebuilt (reconcile) before it replaces the stored
// one in a single store: a crash half way through a rebuild must leave the
// previous state file, not a partial one.
struct PinnedVmsDraft {
  explicit PinnedVmsDraft(std::shared_ptr<const HostResources> host) : allocator(std::move(host)) {}
  Allocator allocator;
  std::map<std::string, PinnedVm> vms;
  std::map<std::string, UnpinnedMark> unpinned;  // by domain UUID

  // Commit (or CommitRunning when `running`) and record; throws AllocationConflict.
  void Add(PinnedVm vm, bool running);
};

class PinnedVms {
 public:
  PinnedVms(std::shared_ptr<const HostResources> host, StateStore store);

  const Allocator& allocator() const { return allocator_; }
  const std::map<std::string, PinnedVm>& all() const { return vms_; }
  const PinnedVm* Find(const std::string& uuid) const;
  const std::map<std::string, UnpinnedMark>& unpinned() const { return unpinned_; }
  const StateStore& store() const { return store_; }

  // The setters: each changes the records and the allocator, then stores.
  // A placed domain is no longer unpinned: Add drops its mark.
  void Add(PinnedVm vm);  // throws AllocationConflict (nothing changed then)
  // Frees the allocation (false when there was none) and sets the domain's
  // unpin mark to `unpinned`: the operator's unpin, or none when it stopped.
  bool Remove(const std::string& uuid, std::optional<UnpinnedMark> unpinned = std::nullopt);
  void SetSharedCpus(const std::string& uuid, const CpuSet& cpus);
  void SetSteeredIrqs(const std::string& uuid, std::vector<SavedIrqAffinity> irqs);
  // Takes the draft's allocator as it is: a loan not in it is dropped, and the
  // caller lends it again.
  void Replace(PinnedVmsDraft draft);
  // A placement that is no VM (CPUs lent to a qualification run): in the
  // allocator only, never in the state file. Lend throws AllocationConflict.
  void Lend(Placement placement) { allocator_.Commit(std::move(placement)); }
  bool EndLoan(const std::string& name) { return allocator_.Release(name); }

 private:
  void Store() const;

  std::shared_ptr<const HostResources> host_;
  StateStore store_;
  Allocator allocator_;
  std::map<std::string, PinnedVm> vms_;
  std::map<std::string, UnpinnedMark> unpinned_;
};

}  // namespace kvhost
