// Reconcile: rebuild the allocations from the state file and libvirt, with
// libvirt as the truth about which domains run and where they are pinned.
#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/libvirt/desired_pinning.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/pinner.h"
#include "agent/state/allocation_convert.h"
#include "base/sizes.h"

namespace kvhost {
namespace {

using Allocation = v1::Allocation;

bool CpusMatch(const DesiredPinning& want, const DomainPinning& have) {
  if (want.vcpus.size() != have.vcpus.size()) return false;
  for (size_t i = 0; i < want.vcpus.size(); ++i)
    if (!(want.vcpus[i] == have.vcpus[i])) return false;
  return !want.emulator || (have.emulator && *want.emulator == *have.emulator);
}

bool NumaMatches(const DesiredPinning& want, const DomainPinning& have) {
  return !want.strict_numa_nodes || (have.numa && have.numa->mode == "strict" &&
                                     have.numa->nodeset == *want.strict_numa_nodes);
}

// Drift is what re-pinning can repair. QEMU refuses a live change of a strict
// nodeset, so a numatune that the config holds (it applies at next start)
// counts as in place: re-applying it would only be refused again.
bool Drifted(const LibvirtConnection& connection, const LibvirtDomain& domain,
             const DesiredPinning& want) {
  const DomainPinning live = ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CURRENT);
  if (!CpusMatch(want, live)) return true;
  if (NumaMatches(want, live)) return false;
  if (!domain.IsPersistent()) return true;
  return !NumaMatches(want, ReadPinning(connection, domain, VIR_DOMAIN_AFFECT_CONFIG));
}

struct RunningDomain {
  const LibvirtConnection* connection;
  DomainSummary summary;
};

}  // namespace

bool Pinner::Adopt(const LibvirtConnection& c, const LibvirtDomain& d, const DomainSummary& s,
                   const ResolvedType& type) {
  // Only a dedicated domain pinned one vCPU per CPU says where it was put.
  if (!type.known || !type.type.Dedicated()) return false;
  const DomainPinning actual = ReadPinning(c, d, VIR_DOMAIN_AFFECT_CURRENT);
  Placement p;
  p.vm = s.uuid;
  p.instance_type = type.type.name;
  p.dedicated = true;
  std::map<unsigned, GuestNumaCell> cells;
  std::vector<unsigned> node_order;
  for (size_t v = 0; v < actual.vcpus.size(); ++v) {
    if (actual.vcpus[v].Count() != 1) return false;
    const unsigned cpu = static_cast<unsigned>(actual.vcpus[v].First());
    const CoreInfo* core = host_->CoreOf(cpu);
    if (!core) return false;
    p.vcpu_cpus.push_back(cpu);
    if (!cells.count(core->node)) node_order.push_back(core->node);
    cells[core->node].host_node = core->node;
    cells[core->node].vcpus.push_back(static_cast<unsigned>(v));
  }
  if (type.type.isolate_emulator_thread) {
    if (!actual.emulator || actual.emulator->Count() != 1) return false;
    p.emulator_cpu = static_cast<unsigned>(actual.emulator->First());
  }
  uint64_t memory_left = type.type.memory_kib;
  for (size_t i = 0; i < node_order.size(); ++i) {
    GuestNumaCell cell = cells[node_order[i]];
    cell.memory_kib = i + 1 == node_order.size()
                          ? memory_left
                          : type.type.memory_kib * cell.vcpus.size() / type.type.vcpus;
    memory_left -= cell.memory_kib;
    if (type.type.hugepage_size_kib)
      p.hugepages.push_back({cell.host_node, type.type.hugepage_size_kib,
                             PagesFor(cell.memory_kib, type.type.hugepage_size_kib)});
    p.numa_nodes.push_back(cell.host_node);
    p.guest_cells.push_back(std::move(cell));
  }
  if (!type.type.hugepage_size_kib) p.memory_kib = type.type.memory_kib;
  try {
    allocator_.CommitRunning(p);
  } catch (const AllocationConflict& e) {
    spdlog::warn("{}: its libvirt pinning cannot be adopted ({}); placing it anew", d.Describe(),
                 e.what());
    return false;
  }
  owners_[s.uuid] = {c.uri(), s.name, type.source + ", adopted from libvirt", {}};
  return true;
}

ReconcileReport Pinner::Reconcile(const std::string& leave_unplaced) {
  ReconcileReport report;
  const LoadedState loaded = store_.Load();
  report.state_was_rebuilt = loaded.rebuild_from_libvirt_needed();
  std::map<std::string, Placement> saved;
  std::map<std::string, std::vector<SavedIrqAffinity>> saved_irqs;
  for (const auto& a : loaded.state.allocations()) {
    try {
      const std::string key = a.domain_uuid().empty() ? a.vm() : a.domain_uuid();
      saved[key] = PlacementFromAllocation(a);
      for (const auto& irq : a.steered_irqs())
        saved_irqs[key].push_back({irq.irq(), ParseCpuList(irq.original_cpus())});
    } catch (const std::exception& e) {
      report.problems.push_back("state entry " + a.vm() + " unreadable (" + e.what() +
                                "): rebuilt from libvirt");
    }
  }

  allocator_ = Allocator(host_);
  owners_.clear();
  std::vector<RunningDomain> running;
  for (const auto& [uri, connection] : connections_) {
    for (auto& s : connection->ListDomainSummaries())
      if (s.active) running.push_back({connection, std::move(s)});
  }
  std::vector<const RunningDomain*> unplaced;
  // 1: saved allocations of domains that still run come first, in full.
  for (const auto& r : running) {
    auto it = saved.find(r.summary.uuid);
    if (it == saved.end()) {
      unplaced.push_back(&r);
      continue;
    }
    try {
      allocator_.CommitRunning(it->second);
      owners_[r.summary.uuid] = {r.connection->uri(), r.summary.name, "state file",
                                 saved_irqs[r.summary.uuid]};
      report.kept.push_back(r.summary.name);
    } catch (const AllocationConflict& e) {
      report.problems.push_back(r.summary.name + ": saved allocation conflicts (" + e.what() +
                                "); placing it anew");
      unplaced.push_back(&r);
    }
    saved.erase(it);
  }
  for (const auto& [uuid, p] : saved) {
    const Allocation& a =
        *std::find_if(loaded.state.allocations().begin(), loaded.state.allocations().end(),
                      [&](const Allocation& x) {
                        return (x.domain_uuid().empty() ? x.vm() : x.domain_uuid()) == uuid;
                      });
    if (!a.connection_uri().empty() && !connections_.count(a.connection_uri())) {
      // Its libvirt is not reachable now: no news is not death. Keep it whole.
      try {
        allocator_.CommitRunning(p);
        owners_[uuid] = {a.connection_uri(), p.vm, "state file (libvirt unreachable)",
                         saved_irqs[uuid]};
        report.kept.push_back(p.vm + " (" + a.connection_uri() + " not connected)");
        continue;
      } catch (const AllocationConflict& e) {
        report.problems.push_back(
            p.vm + ": saved allocation behind an unreachable connection conflicts: " + e.what());
      }
    }
    report.freed.push_back((a.domain_name().empty() ? p.vm : a.domain_name()) + " (" +
                           p.instance_type + ", no longer running)");
  }

  // 2: running domains the state does not know: adopt their pinning, else place them.
  for (const RunningDomain* r : unplaced) {
    if (!leave_unplaced.empty() &&
        (r->summary.name == leave_unplaced || r->summary.uuid == leave_unplaced))
      continue;
    try {
      const ResolvedType type = ResolveInstanceType(r->summary, catalog_, std::nullopt);
      const LibvirtDomain domain = r->connection->LookupDomain(r->summary.uuid);
      if (Adopt(*r->connection, domain, r->summary, type)) {
        report.adopted.push_back(r->summary.name);
        continue;
      }
      PlaceResult placed = allocator_.Place(type.type, r->summary.uuid);
      if (!placed.placement) {
        std::string why;
        for (const auto& reason : placed.reasons) why += "; " + reason;
        report.problems.push_back(r->summary.name + " (" + type.type.name +
                                  ") runs but does not fit" + why);
        continue;
      }
      allocator_.Commit(*placed.placement);
      owners_[r->summary.uuid] = {r->connection->uri(), r->summary.name, type.source, {}};
      report.placed.push_back(r->summary.name);
    } catch (const std::exception& e) {
      report.problems.push_back(r->summary.name + ": " + e.what());
    }
  }

  // 3: shared guests float on the final shared pool; then every domain whose
  // libvirt pinning differs from its allocation is re-pinned, and local QEMU
  // processes are checked from /proc (and realtime/IRQ settings renewed).
  for (const auto& [uuid, p] : allocator_.placements())
    if (!p.dedicated) allocator_.SetSharedCpus(uuid, allocator_.SharedPoolNow());
  SaveState();
  for (const auto& [uuid, p] : allocator_.placements()) {
    const Owner& owner = owners_[uuid];
    try {
      const LibvirtConnection& connection = Connection(owner.uri);
      const LibvirtDomain domain = connection.LookupDomain(uuid);
      const DesiredPinning want = PinningForPlacement(p, domain.Describe(), domain.MaxVcpus());
      if (Drifted(connection, domain, want)) {
        ApplyPlacement(connection, domain, p);
        report.repinned.push_back(owner.name);
      }
      TuneLocal(owner.uri, uuid, domain);
    } catch (const std::exception& e) {
      report.problems.push_back(owner.name + ": re-pin failed: " + e.what());
    }
  }
  return report;
}

}  // namespace kvhost
