#include "agent/pinning/pinner.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "agent/libvirt/desired_pinning.h"
#include "agent/libvirt/libvirt_error.h"
#include "agent/qualify/history.h"
#include "base/crash_point.h"

namespace kvhost {
namespace {

constexpr char kOthersHoldName[] = "qualification (another process)";

}  // namespace

Pinner::Pinner(std::shared_ptr<const HostResources> host, Catalog catalog, StateStore store)
    : host_(host), catalog_(std::move(catalog)), vms_(std::move(host), std::move(store)) {}

void Pinner::AddConnection(const LibvirtConnection* connection) {
  connections_[connection->uri()] = connection;
}

void Pinner::RemoveConnection(const std::string& uri) { connections_.erase(uri); }

std::string Pinner::FindDomainUuid(const std::string& domain_key) const {
  for (const auto& [uri, connection] : connections_) {
    try {
      return connection->LookupDomain(domain_key).uuid();
    } catch (const LibvirtError& e) {
      if (!e.DomainVanished()) throw;
    }
  }
  throw std::runtime_error("no domain '" + domain_key +
                           "' on any libvirt connection; nothing changed");
}

const LibvirtConnection& Pinner::Connection(const std::string& uri) const {
  auto it = connections_.find(uri);
  if (it == connections_.end()) throw std::invalid_argument("no libvirt connection to " + uri);
  return *it->second;
}

PinOutcome Pinner::Pin(const std::string& uri, const std::string& domain_key,
                       const std::optional<std::string>& type) {
  const LibvirtConnection& connection = Connection(uri);
  const LibvirtDomain domain = connection.LookupDomain(domain_key);
  const DomainSummary summary = domain.Summarize();
  if (!summary.active)
    throw std::invalid_argument(domain.Describe() + " is not running: it is placed when it starts");
  PinOutcome out;
  out.domain = summary.name;
  out.uuid = summary.uuid;
  if (const PinnedVm* pinned = vms_.Find(summary.uuid)) {
    // Idempotent: pinning a pinned domain re-applies (and so repairs) its placement.
    out.placement = pinned->placement;
    out.type_source = pinned->type_source;
    out.already_pinned = true;
    out.applied = ApplyPlacement(connection, domain, out.placement);
    return out;
  }
  const ResolvedType resolved = ResolveInstanceType(summary, catalog_, type);
  FollowQualificationHold();
  PlaceResult result = vms_.allocator().Place(resolved.type, summary.uuid);
  if (!result.placement && loan_) result = PlaceOverLoan(resolved.type, summary.uuid);
  if (!result.placement) {
    throw std::runtime_error(domain.Describe() + " (" + resolved.type.name + ", " +
                             resolved.source +
                             ") does not fit:" + result.reasons.Prefixed("\n  - "));
  }
  out.placement = *result.placement;
  out.type_source = resolved.source;
  CrashPoint("after-allocation");
  vms_.Add({out.placement, uri, summary.name, resolved.source, {}});  // durable before libvirt
  CrashPoint("after-state-write");
  try {
    out.applied = ApplyPlacement(connection, domain, out.placement);
    CrashPoint("after-libvirt");
    out.local = TuneLocal(uri, summary.uuid, domain);
  } catch (...) {
    // Nothing half-done survives: a refused pin gives its CPUs back.
    vms_.Remove(summary.uuid);
    throw;
  }
  if (out.placement.dedicated) RefreshSharedPool(nullptr);
  return out;
}

bool Pinner::Unpin(const std::string& uri, const std::string& domain_key) {
  const LibvirtConnection& connection = Connection(uri);
  const LibvirtDomain domain = connection.LookupDomain(domain_key);
  if (!vms_.Find(domain.uuid())) return false;
  // An unpinned guest floats with the shared guests, never over dedicated
  // cores: on the shared pool as it is once this VM's CPUs are back in it,
  // else (every CPU isolated and held) on the housekeeping CPUs. With neither,
  // there is nowhere legal to go, and the guest keeps its own CPUs.
  Allocator after = vms_.allocator();
  after.Release(domain.uuid());
  const CpuSet pool =
      after.SharedPoolNow().Empty() ? host_->reserved & host_->online : after.SharedPoolNow();
  const bool active = domain.IsActive();
  if (active && pool.Empty())
    throw std::runtime_error(
        domain.Describe() +
        " stays pinned: unpinned, it would float over CPUs other VMs hold exclusively (the "
        "shared pool is empty once its CPUs are freed, and no CPUs are reserved); stop it, "
        "or free CPUs for the shared pool, first");
  std::optional<UnpinnedMark> mark;
  if (active) mark = UnpinnedMark{domain.name(), uri, domain.Id()};
  Release(domain.uuid(), std::move(mark));
  if (active) UnpinDomain(connection, domain, pool);
  return true;
}

template <typename Action>
auto Pinner::OnAnyConnection(const std::string& domain_key, Action action) {
  std::string last_error = "no connection is open";
  for (const auto& [uri, connection] : connections_) {
    try {
      return action(uri);
    } catch (const LibvirtError& e) {
      if (!e.DomainVanished()) throw;
      last_error = e.what();  // not behind this connection: try the next
    }
  }
  throw std::runtime_error("no domain '" + domain_key + "' on any libvirt connection (" +
                           last_error + ")");
}

PinOutcome Pinner::PinOnAnyConnection(const std::string& domain_key,
                                      const std::optional<std::string>& type) {
  return OnAnyConnection(domain_key,
                         [&](const std::string& uri) { return Pin(uri, domain_key, type); });
}

bool Pinner::UnpinOnAnyConnection(const std::string& domain_key) {
  return OnAnyConnection(domain_key,
                         [&](const std::string& uri) { return Unpin(uri, domain_key); });
}

bool Pinner::Forget(const std::string& uuid) { return Release(uuid, std::nullopt); }

bool Pinner::Release(const std::string& uuid, std::optional<UnpinnedMark> unpinned) {
  const PinnedVm* vm = vms_.Find(uuid);
  if (!vm) return vms_.Remove(uuid, std::move(unpinned));  // ends an unpin all the same
  if (!vm->steered_irqs.empty() && local_root_) {
    for (const auto& skipped : RestoreIrqs(*local_root_, vm->steered_irqs))
      spdlog::warn("IRQ {} could not be given back its affinity {}: {}", skipped.irq,
                   skipped.affinity.ToList(), skipped.reason);
  }
  const bool dedicated = vm->placement.dedicated;
  vms_.Remove(uuid, std::move(unpinned));
  // Shared guests may spread over the freed cores again.
  if (dedicated) RefreshSharedPool(nullptr);
  return true;
}

Placement Pinner::LoanPlacement() const {
  Placement p;
  p.vm = loan_->name;
  p.instance_type = "oslat";
  p.dedicated = true;
  loan_->cpus.ForEach([&](unsigned cpu) { p.vcpu_cpus.push_back(cpu); });
  return p;
}

void Pinner::Lend(CpuLoan loan) {
  EndLoan();
  loan_ = std::move(loan);
  try {
    vms_.Lend(LoanPlacement());
  } catch (...) {
    loan_.reset();
    throw;
  }
}

void Pinner::EndLoan() {
  if (!loan_) return;
  vms_.EndLoan(loan_->name);
  loan_.reset();
}

PlaceResult Pinner::PlaceOverLoan(const InstanceType& type, const std::string& vm) {
  Allocator without = vms_.allocator();
  without.Release(loan_->name);
  PlaceResult result = without.Place(type, vm);
  if (!result.placement) return result;
  Allocator with = without;
  with.Commit(*result.placement);
  const CpuSet needed = with.HeldCpus() & loan_->cpus;
  const CpuLoan stopped = *loan_;
  EndLoan();
  spdlog::info("{} needs CPUs {} lent to {}: taking them back", vm, needed.ToList(), stopped.name);
  if (stopped.preempted) stopped.preempted(needed);
  return result;
}

PlaceResult Pinner::PlaceBesideLoan(const Allocator& allocator, const InstanceType& type,
                                    const std::string& vm) const {
  if (loan_) {
    Allocator with = allocator;
    try {
      with.Commit(LoanPlacement());
      PlaceResult beside = with.Place(type, vm);
      if (beside.placement) return beside;
    } catch (const AllocationConflict&) {
      // Saved allocations took some of its CPUs already: RestoreLoan stops it.
    }
  }
  return allocator.Place(type, vm);
}

void Pinner::CommitOthersHold(Allocator& allocator) const {
  std::string problem;
  try {
    if (const auto held = qualify::ReadOtherProcessHold(vms_.store().directory())) {
      Placement hold;
      hold.vm = kOthersHoldName;
      hold.instance_type = "oslat";
      hold.dedicated = true;
      // CPUs a VM took meanwhile are left to the VM.
      (*held & allocator.FreeDedicatedCpus()).ForEach([&](unsigned cpu) {
        hold.vcpu_cpus.push_back(cpu);
      });
      if (!hold.vcpu_cpus.empty()) allocator.Commit(std::move(hold));
    }
  } catch (const std::exception& e) {
    problem =
        std::string("another process's qualification hold not taken into account: ") + e.what();
  }
  if (!problem.empty() && problem != hold_problem_) spdlog::warn("{}", problem);
  hold_problem_ = problem;
}

void Pinner::FollowQualificationHold() {
  vms_.EndLoan(kOthersHoldName);
  Allocator probe = vms_.allocator();
  CommitOthersHold(probe);
  const auto hold = probe.placements().find(kOthersHoldName);
  if (hold != probe.placements().end()) vms_.Lend(hold->second);
}

void Pinner::RestoreLoan() {
  if (!loan_) return;
  try {
    vms_.Lend(LoanPlacement());
  } catch (const AllocationConflict&) {
    const CpuLoan stopped = *loan_;
    loan_.reset();
    const CpuSet needed = vms_.allocator().HeldCpus() & stopped.cpus;
    spdlog::info("reconcile placed VMs on CPUs {} lent to {}: taking them back", needed.ToList(),
                 stopped.name);
    if (stopped.preempted) stopped.preempted(needed);
  }
}

LocalTuning Pinner::TuneLocal(const std::string& uri, const std::string& uuid,
                              const LibvirtDomain& domain) {
  // Only qemu:///system's QEMU runs in this host's process namespace with
  // libvirt's pid files; virt-launcher pods keep theirs inside the pod.
  if (!local_root_ || uri.rfind("qemu:///system", 0) != 0) return {};
  const PinnedVm& vm = vms_.all().at(uuid);
  const Placement& p = vm.placement;
  const DesiredPinning want = PinningForPlacement(p, domain.Describe(), domain.MaxVcpus());
  const CpuSet housekeeping =
      host_->reserved.Empty() ? host_->online - host_->dedicated : host_->reserved;
  // IRQs are steered once per VM: a second pass would save steered affinities as the originals.
  LocalTuning t =
      TuneLocalQemu(*local_root_, domain.name(), p, want, catalog_.Find(p.instance_type),
                    housekeeping, vm.steered_irqs.empty());
  if (!t.steered_irqs.empty()) vms_.SetSteeredIrqs(uuid, t.steered_irqs);
  return t;
}

void Pinner::RefreshSharedPool(std::vector<std::string>* repinned) {
  const CpuSet pool = vms_.allocator().SharedPoolNow();
  std::vector<std::string> stale;
  for (const auto& [uuid, vm] : vms_.all())
    if (!vm.placement.dedicated && !(vm.placement.shared_cpus == pool)) stale.push_back(uuid);
  for (const auto& uuid : stale) {
    vms_.SetSharedCpus(uuid, pool);
    const PinnedVm& vm = vms_.all().at(uuid);
    try {
      const LibvirtConnection& connection = Connection(vm.uri);
      ApplyPlacement(connection, connection.LookupDomain(uuid), vm.placement);
      if (repinned) repinned->push_back(vm.name + " (shared pool " + pool.ToList() + ")");
    } catch (const std::exception& e) {
      // The allocation stands; the next reconcile retries the pin.
      spdlog::warn("could not move shared domain '{}' to the shared pool {}: {}", vm.name,
                   pool.ToList(), e.what());
    }
  }
}

}  // namespace kvhost
