// What the audit looks at, gathered from the edges: the agent's saved
// allocations (read only) and every running domain behind the given libvirt
// connections, with its pinning and its instance type. AuditPinning (pure)
// then judges the result.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/allocator/placement.h"
#include "agent/catalog/instance_type.h"
#include "agent/libvirt/connection.h"
#include "agent/pinning/audit.h"

namespace kvhost {

// The agent's own allocations by domain UUID, read without side effects: an
// audit must not move a damaged state file aside (the daemon's reconcile does
// that). What cannot be used is logged and left out.
std::map<std::string, Placement> ReadSavedAllocations(const std::string& state_dir);

// Every running domain behind `connections`, with its current pinning and
// its type: the saved allocation's type first, else the domain's metadata or
// the catalog's inference (ResolveInstanceType).
std::vector<AuditDomain> SurveyRunningDomains(
    const std::vector<const LibvirtConnection*>& connections, const Catalog& catalog,
    const std::map<std::string, Placement>& allocations);

}  // namespace kvhost
