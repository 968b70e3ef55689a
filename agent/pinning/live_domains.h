// The libvirt edge of the one loader: every active domain behind the open
// connections, with its pinning and its instance type, as the plain values
// LoadLiveHost takes (agent/live stays free of libvirt).
#pragma once

#include <vector>

#include "agent/catalog/instance_type.h"
#include "agent/config/agent_config.h"
#include "agent/libvirt/connection.h"
#include "agent/live/running_domains.h"

namespace kvhost {

// The config's `domains`, as the filter every connection of the agent carries.
DomainFilter ManagedDomains(const AgentConfig& config);

// A domain that vanishes while it is read is left out; a type named in its
// metadata that the catalog lacks leaves the type unknown (logged). Domains
// outside the connections' `domains` are only named (not_managed_uuids).
RunningDomains GatherRunningDomains(const std::vector<const LibvirtConnection*>& connections,
                                    const Catalog& catalog);

}  // namespace kvhost
