// Drift: where a domain's actual pinning differs from its saved allocation.
// One definition for both `audit` (drift is a violation, blamed on the
// domain that drifted) and reconcile (drift is re-pinned), so the two never
// disagree about a domain. Pure: the caller reads the pinning from libvirt.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/placement.h"
#include "agent/libvirt/domain_types.h"
#include "base/cpu_set.h"

namespace kvhost {

struct PinningDrift {
  // One phrase per difference, with the numbers: "the emulator runs on CPUs 0,
  // its allocation says 1". Empty: the domain is pinned as allocated.
  std::vector<std::string> differences;
  // Host CPUs the domain may run on that its allocation does not give it.
  CpuSet cpus_outside;

  bool Drifted() const { return !differences.empty(); }
  std::string Describe() const;  // the differences joined with "; "
};

// Compares what libvirt reports for the running domain (`live`) with what
// `allocation` asks for (PinningForPlacement): every vCPU, the emulator and a
// strict numatune. QEMU refuses a live change of a strict nodeset, so a
// numatune that the stored definition (`stored`, absent for a transient
// domain) holds counts as in place: it applies at next start, and re-pinning
// would only be refused again. An allocation for another number of vCPUs than
// the domain has is drift too.
PinningDrift DriftFromAllocation(const Placement& allocation, const DomainPinning& live,
                                 const std::optional<DomainPinning>& stored);

}  // namespace kvhost
