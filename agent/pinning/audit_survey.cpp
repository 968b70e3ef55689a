#include "agent/pinning/audit_survey.h"

#include <spdlog/spdlog.h>

#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/type_resolver.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_store.h"

namespace kvhost {
namespace {

AuditDomain Survey(const LibvirtConnection& connection, const DomainSummary& s,
                   const Catalog& catalog, const std::map<std::string, Placement>& allocations) {
  AuditDomain d;
  d.name = s.name;
  d.uuid = s.uuid;
  const LibvirtDomain domain = connection.LookupDomain(s.uuid);
  d.actual = ReadPinning(connection, domain, DomainDefinition::kCurrent);
  std::optional<std::string> type_name;
  if (auto it = allocations.find(s.uuid); it != allocations.end()) {
    d.allocation = it->second;
    d.stored = ReadStoredPinning(connection, domain);
    type_name = it->second.instance_type;
    d.dedicated = it->second.dedicated;
    d.numa_span_intended = it->second.numa_nodes.size() > 1;
  }
  try {
    const ResolvedType t = ResolveInstanceType(s, catalog, type_name);
    if (t.known) {
      d.instance_type = t.type.name;
      d.dedicated = t.type.Dedicated();
      d.isolate_emulator_thread = t.type.isolate_emulator_thread;
      d.realtime = t.type.realtime;
    }
  } catch (const std::exception& e) {
    spdlog::warn("{}: {}", s.name, e.what());
  }
  return d;
}

}  // namespace

std::map<std::string, Placement> ReadSavedAllocations(const std::string& state_dir) {
  std::map<std::string, Placement> out;
  const LoadedState loaded = StateStore(state_dir).Read();
  if (loaded.status == StateLoadStatus::kCorrupt)
    spdlog::warn("{}/state.pb not used by the audit: {}", state_dir, loaded.problem);
  for (const auto& a : loaded.state.allocations()) {
    try {
      out[a.domain_uuid()] = PlacementFromAllocation(a);
    } catch (const std::exception& e) {
      spdlog::warn("{}/state.pb: allocation {} not used by the audit: {}", state_dir, a.vm(),
                   e.what());
    }
  }
  return out;
}

std::vector<AuditDomain> SurveyRunningDomains(
    const std::vector<const LibvirtConnection*>& connections, const Catalog& catalog,
    const std::map<std::string, Placement>& allocations) {
  std::vector<AuditDomain> domains;
  for (const LibvirtConnection* c : connections)
    for (const DomainSummary& s : c->ListDomainSummaries())
      if (s.active) domains.push_back(Survey(*c, s, catalog, allocations));
  return domains;
}

}  // namespace kvhost
