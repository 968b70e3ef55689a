// The pinning service: places running domains with the allocator, applies the
// placement through libvirt, and keeps the allocations in the state file.
//
// Crash safety comes from the order of every pin: decide the placement, make
// it durable (PinnedVms stores on every change), then touch libvirt. Whatever
// step a crash interrupts, Reconcile() on the next start treats libvirt as the
// truth: domains that run keep (or get) an allocation and are re-pinned where
// they drifted; allocations of domains that no longer run are freed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/catalog/instance_type.h"
#include "agent/libvirt/connection.h"
#include "agent/libvirt/placement_applier.h"
#include "agent/pinning/local_qemu.h"
#include "agent/pinning/pinned_vms.h"
#include "agent/pinning/type_resolver.h"
#include "agent/state/state_store.h"

namespace kvhost {

struct PinOutcome {
  std::string domain;
  std::string uuid;
  std::string type_source;  // how the instance type was found
  Placement placement;
  ApplyReport applied;
  LocalTuning local;
  bool already_pinned = false;
};

struct ReconcileReport {
  std::vector<std::string> kept;      // saved allocation still true (or its libvirt is unreachable)
  std::vector<std::string> adopted;   // pinned in libvirt but missing from the state
  std::vector<std::string> placed;    // running without an allocation: placed now
  std::vector<std::string> repinned;  // libvirt drifted from the allocation: re-applied
  std::vector<std::string> freed;     // saved allocation of a domain that no longer runs
  std::vector<std::string> left_unpinned;  // unpinned by the operator and not restarted since
  std::vector<std::string> not_managed;    // running, outside the config's `domains`: left alone
  std::vector<std::string> problems;       // domains left as they are, and why
  bool state_was_rebuilt = false;          // the state file was missing or corrupt
  std::string state_corrupt;               // corrupt: what was wrong with it
  std::string state_moved_to;              // corrupt: where it was moved aside (may be empty)
};

// "reconciled: 1 kept, ...": the one line a reconcile is summed up in.
std::string ReconcileSummary(const ReconcileReport& report);
// That line as info, plus a warning per problem.
void LogReconcile(const ReconcileReport& report);

struct RunningDomain;  // reconcile.cpp

// CPUs lent to something that is not a VM (the daemon's qualification run):
// held in the allocator like a dedicated VM, so nothing is placed there and
// capacity leaves them out, but never stored in the state file. A VM that
// fits only on them wins: `preempted` is called first, with the CPUs it needs,
// and must stop the borrower before it returns; then the VM is placed there.
struct CpuLoan {
  std::string name = "qualification";
  CpuSet cpus;
  std::function<void(const CpuSet& needed)> preempted;
};

class Pinner {
 public:
  Pinner(std::shared_ptr<const HostResources> host, Catalog catalog, StateStore store);

  // Where local QEMU processes of qemu:///system are found and tuned (/proc,
  // /var/run/libvirt/qemu, /proc/irq). Unset: libvirt's word is all there is.
  void SetLocalRoot(std::filesystem::path root) { local_root_ = SysfsRoot(std::move(root)); }

  // The connections the pinner acts through; owned by the caller, who keeps
  // them alive while they are added.
  void AddConnection(const LibvirtConnection* connection);
  void RemoveConnection(const std::string& uri);

  // The UUID of the domain named (or with that UUID) on any added connection.
  // Throws, saying nothing changed, when none has it.
  std::string FindDomainUuid(const std::string& domain_key) const;

  // Rebuilds the allocations from the state file and from libvirt (see top).
  // A running domain named `leave_unplaced` (name or UUID) that has no saved
  // allocation is neither adopted nor placed: the caller is about to Pin it
  // with its own --type. Saved allocations behind a connection that is not
  // open are kept as they are: an unreachable libvirt says nothing about them.
  ReconcileReport Reconcile(const std::string& leave_unplaced = "");

  // Places a running domain and pins it. Throws with the allocator's reasons
  // when it does not fit, or LibvirtError / PlacementApplyError from libvirt.
  PinOutcome Pin(const std::string& uri, const std::string& domain_key,
                 const std::optional<std::string>& type = std::nullopt);
  // Returns the domain's CPUs to the host and frees its allocation. A running
  // domain stays unplaced (by Reconcile, and by a pin of another domain) until
  // it restarts; Pin of the domain itself places it again.
  bool Unpin(const std::string& uri, const std::string& domain_key);

  // Pin and Unpin on whichever added connection has the domain, tried in URI
  // order. A connection that has no such domain is passed over; any other
  // libvirt error stops the search. Throws when no connection has it.
  PinOutcome PinOnAnyConnection(const std::string& domain_key,
                                const std::optional<std::string>& type = std::nullopt);
  // False when the domain holds no allocation (nothing was changed).
  bool UnpinOnAnyConnection(const std::string& domain_key);

  // Lifecycle: a domain stopped or was undefined; frees what it held and
  // ends its unpin. False when it held no allocation.
  bool Forget(const std::string& uuid);

  // CPUs another process's qualification run holds (a CLI `qualify`: its
  // hold file in the state directory, while that process lives) are taken as
  // a VM's would be: nothing is placed there, and nobody stops that run.
  // Pin and Reconcile read the file again; this does for the daemon's ticks.
  void FollowQualificationHold();

  // Throws AllocationConflict when a CPU of the loan is not free now.
  void Lend(CpuLoan loan);
  // The borrower is done: its CPUs go back (nothing when preempted already).
  void EndLoan();
  const std::optional<CpuLoan>& loan() const { return loan_; }

  const Allocator& allocator() const { return vms_.allocator(); }
  const Catalog& catalog() const { return catalog_; }
  const StateStore& store() const { return vms_.store(); }
  // What the pinner holds, one record per VM by domain UUID.
  const std::map<std::string, PinnedVm>& vms() const { return vms_.all(); }

 private:
  const LibvirtConnection& Connection(const std::string& uri) const;
  // The loan's placement (its CPUs as one dedicated "VM").
  Placement LoanPlacement() const;
  // `type` fits only on the loan's CPUs: the borrower is stopped, the CPUs
  // are given back and the place found then is returned.
  PlaceResult PlaceOverLoan(const InstanceType& type, const std::string& vm);
  // After a reconcile rebuilt the allocator: the loan again, or the borrower
  // stopped when a VM took its CPUs meanwhile.
  void RestoreLoan();
  // Reconcile: placed off the loan's CPUs when it fits elsewhere, else over
  // them (RestoreLoan then stops the borrower).
  PlaceResult PlaceBesideLoan(const Allocator& allocator, const InstanceType& type,
                              const std::string& vm) const;
  // Another process's hold (see FollowQualificationHold) committed to
  // `allocator` on the CPUs still free there; a problem with it is logged once.
  void CommitOthersHold(Allocator& allocator) const;
  // Forget, leaving the domain marked unpinned when `unpinned` is given.
  bool Release(const std::string& uuid, std::optional<UnpinnedMark> unpinned);
  template <typename Action>
  auto OnAnyConnection(const std::string& domain_key, Action action);
  // Shared guests follow the shared pool when dedicated cores come or go.
  void RefreshSharedPool(std::vector<std::string>* repinned);
  // Verifies from /proc and applies realtime / IRQ settings when QEMU is local.
  LocalTuning TuneLocal(const std::string& uri, const std::string& uuid,
                        const LibvirtDomain& domain);

  // Reconcile's three phases: saved allocations of running domains first, in
  // full; then running domains the state does not know (adopted or placed);
  // then every domain whose libvirt pinning drifted is re-pinned.
  // `unmanaged`: running domains outside `domains`, name by UUID; a saved
  // allocation of one (the filter changed) is dropped, not freed as gone.
  std::vector<const RunningDomain*> RestoreSaved(const std::vector<RunningDomain>& running,
                                                 std::map<std::string, std::string>& unmanaged,
                                                 PinnedVmsDraft& draft,
                                                 ReconcileReport& report) const;
  void PlaceUnknown(const std::vector<const RunningDomain*>& unplaced,
                    const std::string& leave_unplaced, PinnedVmsDraft& draft,
                    ReconcileReport& report) const;
  void RepinDrifted(ReconcileReport& report);
  void RestoreUnpinned(const LoadedState& loaded, const std::vector<RunningDomain>& running,
                       PinnedVmsDraft& draft) const;
  bool Adopt(const RunningDomain& r, const LibvirtDomain& d, const ResolvedType& type,
             PinnedVmsDraft& draft) const;

  std::shared_ptr<const HostResources> host_;
  Catalog catalog_;
  PinnedVms vms_;
  std::map<std::string, const LibvirtConnection*> connections_;
  std::optional<SysfsRoot> local_root_;
  std::optional<CpuLoan> loan_;
  mutable std::string hold_problem_;  // the last one logged
};

}  // namespace kvhost
