// Capacity: how many more of each instance type fit, found by the placement
// policy placing until it refuses (PlacementPolicy::Count). No second formula
// exists.
#pragma once

#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/catalog/instance_type.h"

namespace kvhost {

struct FragmentationScore {
  double score = 0;
  unsigned free_dedicated_cpus = 0;
  unsigned stranded_dedicated_cpus = 0;
  uint64_t free_hugepage_kib = 0;
  uint64_t stranded_hugepage_kib = 0;
};

// Counts stop here: more of one type than any host could hold.
inline constexpr unsigned kCountLimit = 100000;

// Places `type` on `state`'s policy until it no longer fits (at most `limit`).
TypeCapacity CountFits(const Allocator& state, const InstanceType& type,
                       unsigned limit = kCountLimit);

std::vector<TypeCapacity> ComputeCapacity(const Allocator& state, const Catalog& catalog);

FragmentationScore ComputeFragmentation(const Allocator& state, const Catalog& catalog);

struct WhatIfChange {
  bool add = true;
  std::string type;
  unsigned count = 1;
};

// Parses "add cx1.large=3,rt1.medium=1" or "remove cx1.large=1" (count defaults
// to 1). Throws std::invalid_argument naming the bad piece.
std::vector<WhatIfChange> ParseWhatIf(const std::string& text);

// Applies changes to `state`: adds place new VMs "what-if-<type>-<n>", removes
// take away VMs of that type, newest first. Returns one line per change.
// Throws std::invalid_argument for an unknown type or a change that cannot be made.
std::vector<std::string> ApplyWhatIf(Allocator& state, const Catalog& catalog,
                                     const std::vector<WhatIfChange>& changes);

}  // namespace kvhost
