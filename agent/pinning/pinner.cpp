#include "agent/pinning/pinner.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "agent/libvirt/desired_pinning.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/crash_point.h"

namespace kvhost {

Pinner::Pinner(std::shared_ptr<const HostResources> host, Catalog catalog, StateStore store)
    : host_(std::move(host)), catalog_(std::move(catalog)), store_(std::move(store)), allocator_(host_) {}

void Pinner::AddConnection(const LibvirtConnection* connection) { connections_[connection->uri()] = connection; }

void Pinner::RemoveConnection(const std::string& uri) { connections_.erase(uri); }

const LibvirtConnection& Pinner::Connection(const std::string& uri) const {
  auto it = connections_.find(uri);
  if (it == connections_.end()) throw std::invalid_argument("no libvirt connection to " + uri);
  return *it->second;
}

void Pinner::SaveState() const {
  v1::AgentState state;
  for (const auto& [uuid, placement] : allocator_.placements()) {
    auto owner = owners_.find(uuid);
    *state.add_allocations() =
        AllocationFromPlacement(placement, uuid, owner == owners_.end() ? "" : owner->second.uri);
  }
  store_.Save(state);
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
  if (auto it = allocator_.placements().find(summary.uuid); it != allocator_.placements().end()) {
    // Idempotent: pinning a pinned domain re-applies (and so repairs) its placement.
    out.placement = it->second;
    out.type_source = owners_[summary.uuid].type_source;
    out.already_pinned = true;
    out.applied = ApplyPlacement(connection, domain, out.placement);
    return out;
  }
  const ResolvedType resolved = ResolveInstanceType(summary, catalog_, type);
  PlaceResult result = allocator_.Place(resolved.type, summary.uuid);
  if (!result.placement) {
    std::string why;
    for (const auto& r : result.reasons) why += "\n  - " + r;
    throw std::runtime_error(domain.Describe() + " (" + resolved.type.name + ", " + resolved.source +
                             ") does not fit:" + why);
  }
  out.placement = *result.placement;
  out.type_source = resolved.source;
  allocator_.Commit(out.placement);
  owners_[summary.uuid] = {uri, summary.name, resolved.source};
  CrashPoint("after-allocation");
  SaveState();  // the intent is durable before libvirt changes
  CrashPoint("after-state-write");
  try {
    out.applied = ApplyPlacement(connection, domain, out.placement);
  } catch (...) {
    // Nothing half-done survives: a refused pin gives its CPUs back.
    allocator_.Release(summary.uuid);
    owners_.erase(summary.uuid);
    SaveState();
    throw;
  }
  CrashPoint("after-libvirt");
  if (out.placement.dedicated) RefreshSharedPool(nullptr);
  SaveState();
  return out;
}

bool Pinner::Unpin(const std::string& uri, const std::string& domain_key) {
  const LibvirtConnection& connection = Connection(uri);
  const LibvirtDomain domain = connection.LookupDomain(domain_key);
  if (!Forget(domain.uuid())) return false;
  // An unpinned guest floats with the shared guests, never over dedicated cores.
  const CpuSet pool = allocator_.SharedPoolNow();
  if (domain.IsActive()) UnpinDomain(connection, domain, pool.Empty() ? host_->online - host_->reserved : pool);
  return true;
}

bool Pinner::Forget(const std::string& uuid) {
  auto it = allocator_.placements().find(uuid);
  if (it == allocator_.placements().end()) return false;
  const bool dedicated = it->second.dedicated;
  allocator_.Release(uuid);
  owners_.erase(uuid);
  SaveState();
  if (dedicated) {
    RefreshSharedPool(nullptr);  // shared guests may spread over the freed cores again
    SaveState();
  }
  return true;
}

void Pinner::RefreshSharedPool(std::vector<std::string>* repinned) {
  const CpuSet pool = allocator_.SharedPoolNow();
  std::vector<std::string> stale;
  for (const auto& [uuid, p] : allocator_.placements())
    if (!p.dedicated && !(p.shared_cpus == pool)) stale.push_back(uuid);
  for (const auto& uuid : stale) {
    allocator_.SetSharedCpus(uuid, pool);
    const Owner& owner = owners_[uuid];
    try {
      const LibvirtConnection& connection = Connection(owner.uri);
      ApplyPlacement(connection, connection.LookupDomain(uuid), allocator_.placements().at(uuid));
      if (repinned) repinned->push_back(owner.name + " (shared pool " + pool.ToList() + ")");
    } catch (const std::exception& e) {
      // The allocation stands; the next reconcile retries the pin.
      spdlog::warn("could not move shared domain '{}' to the shared pool {}: {}", owner.name, pool.ToList(), e.what());
    }
  }
}

}  // namespace kvhost
