// Applies a kvhost::Placement to a libvirt domain and proves it by reading back.
//
// Order: every vCPU, then the emulator, then the numatune. A failure part way
// leaves the earlier pins in place and throws; the caller decides whether to
// retry or unpin. Nothing here aborts the process: every libvirt refusal and
// every vanished domain is a LibvirtError, every mismatch a PlacementApplyError.
#pragma once

#include <string>

#include "agent/allocator/placement.h"
#include "agent/libvirt/connection.h"
#include "agent/libvirt/desired_pinning.h"
#include "agent/libvirt/domain.h"
#include "agent/libvirt/pinning_reader.h"

namespace kvhost {

enum class NumaOutcome {
  kNotRequested,       // the placement binds no NUMA nodes (or this is an unpin)
  kApplied,            // in force now (and in the config on real drivers)
  kAppliesAtNextStart  // the running domain refused the live change; config updated
};

struct ApplyReport {
  std::string domain;
  unsigned pin_flags = 0;  // the virDomainModificationImpact flags used for pins
  NumaOutcome numa = NumaOutcome::kNotRequested;
  std::string numa_deferred_reason;  // libvirt's words when numa == kAppliesAtNextStart
  unsigned iothreads_pinned = 0;     // IOThreads moved with the emulator
  DomainPinning read_back;           // the first verified definition, as libvirt reports it
};

ApplyReport ApplyPlacement(const LibvirtConnection& connection, const LibvirtDomain& domain,
                           const Placement& placement);

// Pins every vCPU and the emulator to online_cpus (the host's full online CPU
// set), releasing whatever the VM held. Leaves the numatune as it is.
ApplyReport UnpinDomain(const LibvirtConnection& connection, const LibvirtDomain& domain,
                        const CpuSet& online_cpus);

std::string NumaOutcomeName(NumaOutcome outcome);

}  // namespace kvhost
