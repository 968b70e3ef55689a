// What libvirt says a domain is pinned to right now: the read-back half of
// applying a placement, and what reconciliation compares against.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/libvirt/connection.h"
#include "agent/libvirt/domain.h"
#include "base/cpu_set.h"

namespace kvhost {

struct NumaTune {
  std::string mode;  // "strict", "preferred", "interleave", "restrictive"
  CpuSet nodeset;    // host NUMA node ids (a node list has the cpulist syntax)
};

struct DomainPinning {
  std::vector<CpuSet> vcpus;       // host CPUs of vCPU i; all CPUs when unpinned
  std::optional<CpuSet> emulator;  // absent when libvirt reports no emulator pinning
  std::optional<NumaTune> numa;    // absent when the domain has no <numatune> nodeset
};

// Reads pinning from one definition: affect_flags is VIR_DOMAIN_AFFECT_CURRENT,
// _LIVE or _CONFIG. Throws LibvirtError naming the domain.
DomainPinning ReadPinning(const LibvirtConnection& connection, const LibvirtDomain& domain,
                          unsigned affect_flags);

std::string NumaModeName(int libvirt_mode);

}  // namespace kvhost
