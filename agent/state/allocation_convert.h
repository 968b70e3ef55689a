// kvhost::Placement (the allocator's value) <-> kvhost.v1.Allocation (what
// state.pb stores). A round trip gives back an equal Placement.
#pragma once

#include <string>

#include "agent/allocator/placement.h"
#include "state.pb.h"

namespace kvhost {

v1::Allocation AllocationFromPlacement(const Placement& placement, const std::string& domain_uuid,
                                       const std::string& connection_uri);

// Throws FormatError when shared_cpus is not a cpulist.
Placement PlacementFromAllocation(const v1::Allocation& allocation);

}  // namespace kvhost
