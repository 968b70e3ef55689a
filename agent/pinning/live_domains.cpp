#include "agent/pinning/live_domains.h"

#include <spdlog/spdlog.h>

#include "agent/libvirt/libvirt_error.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/type_resolver.h"

namespace kvhost {
namespace {

std::optional<InstanceType> KnownType(const DomainSummary& s, const Catalog& catalog) {
  try {
    ResolvedType t = ResolveInstanceType(s, catalog, std::nullopt);
    if (t.known) return std::move(t.type);
  } catch (const std::exception& e) {
    spdlog::warn("domain '{}': {}", s.name, e.what());
  }
  return std::nullopt;
}

}  // namespace

DomainFilter ManagedDomains(const AgentConfig& config) {
  return DomainFilter(config.domains,
                      config.source == "defaults" ? "the default" : "config " + config.source);
}

RunningDomains GatherRunningDomains(const std::vector<const LibvirtConnection*>& connections,
                                    const Catalog& catalog) {
  RunningDomains running;
  for (const LibvirtConnection* c : connections) {
    running.connected_uris.push_back(c->uri());
    for (const DomainSummary& s : c->ListDomainSummaries()) {
      if (!s.active) continue;
      try {
        running.domains.push_back(
            {s.name, s.uuid, c->uri(), KnownType(s, catalog),
             ReadPinning(*c, c->LookupDomain(s.uuid), DomainDefinition::kCurrent)});
      } catch (const LibvirtError& e) {
        if (!e.DomainVanished()) throw;
      }
    }
    for (const LibvirtDomain& d : c->ListRunningUnmanagedDomains())
      running.not_managed_uuids.push_back(d.uuid());
  }
  return running;
}

}  // namespace kvhost
