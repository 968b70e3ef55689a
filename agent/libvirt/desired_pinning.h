// What a kvhost::Placement asks libvirt for, before any libvirt call: the pure
// half of applying a placement, testable without a connection.
#pragma once

#include <optional>
#include <stdexcept>
#include <vector>

#include "agent/allocator/placement.h"
#include "base/cpu_set.h"

namespace kvhost {

// A placement that does not fit the domain it is applied to, or a read-back
// that differs from what was applied. The message names the domain.
class PlacementApplyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DesiredPinning {
  std::vector<CpuSet> vcpus;                // host CPUs of vCPU i, one entry per domain vCPU
  std::optional<CpuSet> emulator;           // absent: leave the emulator threads alone
  std::optional<CpuSet> strict_numa_nodes;  // absent: leave <numatune> alone
};

// Dedicated: vCPU i on vcpu_cpus[i]; the emulator on emulator_cpu, else on the
// VM's own vCPU CPUs (as KubeVirt does without isolateEmulatorThread) so it
// never runs on another VM's dedicated CPU. Shared: every vCPU and the
// emulator float on shared_cpus. Memory is bound strictly to numa_nodes.
// Guest NUMA cells and hugepages are domain XML, fixed when the VM is
// defined, so they are not applied here. Throws PlacementApplyError when the
// placement does not cover exactly domain_vcpus vCPUs.
DesiredPinning PinningForPlacement(const Placement& placement,
                                   const std::string& domain_description, unsigned domain_vcpus);

// Every vCPU and the emulator on all online host CPUs; numatune untouched.
DesiredPinning PinningForUnpin(const CpuSet& online_cpus, unsigned domain_vcpus);

}  // namespace kvhost
