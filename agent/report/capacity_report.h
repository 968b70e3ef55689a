// Turns capacity results into the kvhost.v1.CapacityReport message and its
// human forms (the `capacity` table and `explain` lines).
#pragma once

#include <string>
#include <vector>

#include "agent/allocator/capacity.h"
#include "capacity.pb.h"

namespace kvhost {

v1::CapacityReport BuildCapacityReport(const Allocator& state,
                                       const std::vector<TypeCapacity>& types,
                                       const FragmentationScore& fragmentation,
                                       const std::vector<std::string>& what_if);

std::string FormatCapacityTable(const v1::CapacityReport& report);

// `explain TYPE`: what the type needs, how many more fit, and one line per blocker.
std::string FormatExplain(const TypeCapacity& capacity);

}  // namespace kvhost
