// Reconcile: rebuild the allocations from the state file and libvirt, with
// libvirt as the truth about which domains run and where they are pinned.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/libvirt/pinning_reader.h"
#include "agent/live/running_domains.h"
#include "agent/pinning/drift.h"
#include "agent/pinning/pinner.h"
#include "agent/state/allocation_convert.h"

namespace kvhost {
namespace {

// A saved allocation as the pinner's record, by domain UUID (older states
// keyed by the VM id).
std::map<std::string, PinnedVm> ParseSaved(const LoadedState& loaded, ReconcileReport& report) {
  std::map<std::string, PinnedVm> saved;
  for (const auto& a : loaded.state.allocations()) {
    try {
      PinnedVm vm;
      vm.placement = PlacementFromAllocation(a);
      vm.uri = a.connection_uri();
      vm.name = a.domain_name();
      vm.type_source = a.type_source().empty() ? "state file" : a.type_source();
      for (const auto& irq : a.steered_irqs())
        vm.steered_irqs.push_back({irq.irq(), ParseCpuList(irq.original_cpus())});
      saved[a.domain_uuid().empty() ? a.vm() : a.domain_uuid()] = std::move(vm);
    } catch (const std::exception& e) {
      report.problems.push_back("state entry " + a.vm() + " unreadable (" + e.what() +
                                "): rebuilt from libvirt");
    }
  }
  return saved;
}

}  // namespace

struct RunningDomain {
  const LibvirtConnection* connection;
  DomainSummary summary;
};

// "2 re-pinned (a, b)": the domains a change was made to are named.
static std::string Changed(const std::vector<std::string>& domains, const char* what) {
  if (domains.empty()) return fmt::format("0 {}", what);
  return fmt::format("{} {} ({})", domains.size(), what, fmt::join(domains, ", "));
}

std::string ReconcileSummary(const ReconcileReport& r) {
  return fmt::format(
      "reconciled: {} kept, {}, {}, {}, {}, {} left unpinned{}{}", r.kept.size(),
      Changed(r.adopted, "adopted"), Changed(r.placed, "placed"), Changed(r.repinned, "re-pinned"),
      Changed(r.freed, "freed"), r.left_unpinned.size(),
      r.not_managed.empty() ? "" : fmt::format(", {} not managed", r.not_managed.size()),
      r.state_was_rebuilt ? " (state rebuilt from libvirt)" : "");
}

// At the default level only a reconcile that changed something: the daemon
// reconciles at every start, reconnect and rebuild.
static bool ChangedSomething(const ReconcileReport& r) {
  return !r.adopted.empty() || !r.placed.empty() || !r.repinned.empty() || !r.freed.empty() ||
         r.state_was_rebuilt;
}

void LogReconcile(const ReconcileReport& r) {
  spdlog::log(ChangedSomething(r) ? spdlog::level::info : spdlog::level::debug, "{}",
              ReconcileSummary(r));
  for (const auto& p : r.problems) spdlog::warn("reconcile: {}", p);
}

bool Pinner::Adopt(const RunningDomain& r, const LibvirtDomain& d, const ResolvedType& type,
                   PinnedVmsDraft& draft) const {
  // Only a dedicated domain pinned one vCPU per CPU says where it was put.
  if (!type.known || !type.type.Dedicated()) return false;
  // The same reading of a pinning as the loader's (agent/live), so capacity
  // and the pinner agree on what an adopted domain holds.
  const std::optional<Placement> p = PlacementFromPinning(
      *host_, type.type, r.summary.uuid, ReadPinning(*r.connection, d, DomainDefinition::kCurrent));
  if (!p) return false;
  try {
    draft.Add({*p, r.connection->uri(), r.summary.name, type.source + ", adopted from libvirt", {}},
              true);
  } catch (const AllocationConflict& e) {
    spdlog::warn("{}: its libvirt pinning cannot be adopted ({}); placing it anew", d.Describe(),
                 e.what());
    return false;
  }
  return true;
}

ReconcileReport Pinner::Reconcile(const std::string& leave_unplaced) {
  ReconcileReport report;
  std::vector<RunningDomain> running;
  std::map<std::string, std::string> unmanaged;
  for (const auto& [uri, connection] : connections_) {
    std::vector<DomainSummary> listed = connection->ListDomainSummaries();
    // libvirt lists in the order of its hash table, which differs from one
    // process to the next: by name, every process decides and reports alike.
    std::sort(listed.begin(), listed.end(),
              [](const DomainSummary& a, const DomainSummary& b) { return a.name < b.name; });
    for (auto& s : listed)
      if (s.active) running.push_back({connection, std::move(s)});
    for (const LibvirtDomain& d : connection->ListRunningUnmanagedDomains())
      unmanaged[d.uuid()] = d.name();
  }
  PinnedVmsDraft draft(host_);
  const std::vector<const RunningDomain*> unplaced =
      RestoreSaved(running, unmanaged, draft, report);
  for (const auto& [uuid, name] : unmanaged) report.not_managed.push_back(name);
  std::sort(report.not_managed.begin(), report.not_managed.end());
  // After the saved allocations, which keep what they hold, before any placement.
  CommitOthersHold(draft.allocator);
  PlaceUnknown(unplaced, leave_unplaced, draft, report);
  // Shared guests float on the final shared pool.
  const CpuSet pool = draft.allocator.SharedPoolNow();
  for (auto& [uuid, vm] : draft.vms) {
    if (vm.placement.dedicated) continue;
    draft.allocator.SetSharedCpus(uuid, pool);
    vm.placement = draft.allocator.placements().at(uuid);
  }
  vms_.Replace(std::move(draft));
  RestoreLoan();
  RepinDrifted(report);
  return report;
}

// 1: saved allocations of domains that still run come first, in full; those
// behind an unreachable connection are kept; the rest are freed.
std::vector<const RunningDomain*> Pinner::RestoreSaved(
    const std::vector<RunningDomain>& running, std::map<std::string, std::string>& unmanaged,
    PinnedVmsDraft& draft, ReconcileReport& report) const {
  const LoadedState loaded = vms_.store().Load();
  report.state_was_rebuilt = loaded.rebuild_from_libvirt_needed();
  if (loaded.status == StateLoadStatus::kCorrupt) {
    report.state_corrupt = loaded.problem;
    report.state_moved_to = loaded.moved_aside_to.string();
  }
  std::map<std::string, PinnedVm> saved = ParseSaved(loaded, report);
  std::vector<const RunningDomain*> unplaced;
  for (const auto& r : running) {
    auto it = saved.find(r.summary.uuid);
    if (it == saved.end()) {
      unplaced.push_back(&r);
      continue;
    }
    PinnedVm vm = std::move(it->second);
    saved.erase(it);
    vm.uri = r.connection->uri();
    vm.name = r.summary.name;
    try {
      draft.Add(std::move(vm), true);
      report.kept.push_back(r.summary.name);
    } catch (const AllocationConflict& e) {
      report.problems.push_back(r.summary.name + ": saved allocation conflicts (" + e.what() +
                                "); placing it anew");
      unplaced.push_back(&r);
    }
  }
  for (auto& [uuid, vm] : saved) {
    const std::string name = vm.name.empty() ? vm.placement.vm : vm.name;
    const std::string type = vm.placement.instance_type;
    if (auto outside = unmanaged.find(uuid); outside != unmanaged.end()) {
      // Still running, and pinned as it was: only the agent lets go of it.
      report.not_managed.push_back(outside->second + " (" + type +
                                   " allocation dropped, its pinning left as it is)");
      unmanaged.erase(outside);
      continue;
    }
    if (!vm.uri.empty() && !connections_.count(vm.uri)) {
      // Its libvirt is not reachable now: no news is not death. Keep it whole.
      const std::string uri = vm.uri;
      const std::string id = vm.placement.vm;
      if (vm.name.empty()) vm.name = id;
      try {
        draft.Add(std::move(vm), true);
        report.kept.push_back(id + " (" + uri + " not connected)");
        continue;
      } catch (const AllocationConflict& e) {
        report.problems.push_back(
            id + ": saved allocation behind an unreachable connection conflicts: " + e.what());
      }
    }
    report.freed.push_back(name + " (" + type + ", no longer running)");
  }
  RestoreUnpinned(loaded, running, draft);
  return unplaced;
}

// The operator's unpins that still hold: the same instance still runs (a
// restart gives it a new id), or its libvirt is unreachable. A domain that has
// an allocation again is not unpinned.
void Pinner::RestoreUnpinned(const LoadedState& loaded, const std::vector<RunningDomain>& running,
                             PinnedVmsDraft& draft) const {
  for (const auto& u : loaded.state.unpinned()) {
    if (draft.vms.count(u.domain_uuid())) continue;
    UnpinnedMark mark{u.domain_name(), u.connection_uri(), u.domain_id()};
    bool holds = !u.connection_uri().empty() && !connections_.count(u.connection_uri());
    for (const auto& r : running)
      holds |= r.summary.uuid == u.domain_uuid() && r.summary.id == u.domain_id();
    if (holds) draft.unpinned[u.domain_uuid()] = std::move(mark);
  }
}

// 2: running domains the state does not know: adopt their pinning, else place them.
void Pinner::PlaceUnknown(const std::vector<const RunningDomain*>& unplaced,
                          const std::string& leave_unplaced, PinnedVmsDraft& draft,
                          ReconcileReport& report) const {
  for (const RunningDomain* r : unplaced) {
    if (draft.unpinned.count(r->summary.uuid)) {
      report.left_unpinned.push_back(r->summary.name);
      continue;
    }
    if (!leave_unplaced.empty() &&
        (r->summary.name == leave_unplaced || r->summary.uuid == leave_unplaced))
      continue;
    try {
      const ResolvedType type = ResolveInstanceType(r->summary, catalog_, std::nullopt);
      const LibvirtDomain domain = r->connection->LookupDomain(r->summary.uuid);
      if (Adopt(*r, domain, type, draft)) {
        report.adopted.push_back(r->summary.name);
        continue;
      }
      PlaceResult placed = PlaceBesideLoan(draft.allocator, type.type, r->summary.uuid);
      if (!placed.placement) {
        report.problems.push_back(r->summary.name + " (" + type.type.name +
                                  ") runs but does not fit" + placed.reasons.Prefixed("; "));
        continue;
      }
      draft.Add({*placed.placement, r->connection->uri(), r->summary.name, type.source, {}}, false);
      report.placed.push_back(r->summary.name);
    } catch (const std::exception& e) {
      report.problems.push_back(r->summary.name + ": " + e.what());
    }
  }
}

// 3: every domain whose libvirt pinning drifted from its allocation (drift.h,
// the audit's definition too) is re-pinned, and local QEMU processes are checked from /proc (and
// realtime/IRQ settings renewed).
void Pinner::RepinDrifted(ReconcileReport& report) {
  std::vector<std::string> uuids;
  for (const auto& [uuid, vm] : vms_.all()) uuids.push_back(uuid);
  for (const auto& uuid : uuids) {
    const PinnedVm vm = vms_.all().at(uuid);
    try {
      const LibvirtConnection& connection = Connection(vm.uri);
      const LibvirtDomain domain = connection.LookupDomain(uuid);
      const PinningDrift drift = DriftFromAllocation(
          vm.placement, ReadPinning(connection, domain, DomainDefinition::kCurrent),
          ReadStoredPinning(connection, domain));
      if (drift.Drifted()) {
        // The reconcile's one line names it; what drifted is for debugging.
        spdlog::debug("{} drifted from its allocation: {}", domain.Describe(), drift.Describe());
        ApplyPlacement(connection, domain, vm.placement);
        report.repinned.push_back(vm.name);
      }
      TuneLocal(vm.uri, uuid, domain);
    } catch (const std::exception& e) {
      report.problems.push_back(vm.name + ": re-pin failed: " + e.what());
    }
  }
}

}  // namespace kvhost
