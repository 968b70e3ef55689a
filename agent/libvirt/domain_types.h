// The libvirt edge's plain vocabulary: what a domain is pinned to, which of
// its definitions to read, what a lifecycle event means to the agent. No
// libvirt header here, so code outside agent/libvirt/ (the pure audit, the
// pinner, the daemon) speaks of domains without libvirt's constants.
#pragma once

#include <optional>
#include <string>
#include <vector>

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

// Which definition of a domain to read: the running one when it runs, else
// the stored one (kCurrent); the running one (kLive); the stored one, which
// applies at the next start (kConfig).
enum class DomainDefinition { kCurrent, kLive, kConfig };

// What a lifecycle event means for the domain's CPUs: a new instance runs
// (kStarted), the instance is gone (kEnded: stopped, crashed or undefined), or
// neither (defined, paused, resumed, ...).
enum class LifecycleChange { kStarted, kEnded, kOther };

}  // namespace kvhost
