// The agent's own placement policy (README "Who places"), on hosts where the
// agent pins VMs itself: dedicated VMs on whole cores of the best-fitting
// NUMA node or the closest span of nodes (dedicated_placement.cpp), shared
// VMs on the shared pool within its vCPU:CPU ratio (shared_placement.cpp).
// It keeps nothing of its own: every decision reads the allocator's books,
// so the allocator's copies cost it nothing. Pure.
#pragma once

#include <memory>
#include <string>

#include "agent/allocator/allocator.h"
#include "agent/allocator/policy.h"

namespace kvhost {

class AgentPolicy final : public PlacementPolicy {
 public:
  std::unique_ptr<PlacementPolicy> Clone() const override;
  PlaceResult Place(const Allocator& books, const InstanceType& type,
                    const std::string& vm) const override;
  // Checks every invariant of the books: no CPU given twice or outside the
  // dedicated pool, no pages, memory or GPUs beyond free, the shared pool's
  // ratio kept.
  void Commit(const Allocator& books, const Placement& p) override;
  void Release(const std::string&) override {}
  // Places into a copy of `books` until it refuses: no second formula.
  TypeCapacity Count(const Allocator& books, const InstanceType& type, unsigned limit,
                     TryNames& names) const override;
};

// The two placements, one for each kind of type.
PlaceResult PlaceDedicated(const Allocator& books, const InstanceType& type, const std::string& vm);
PlaceResult PlaceShared(const Allocator& books, const InstanceType& type, const std::string& vm);

}  // namespace kvhost
