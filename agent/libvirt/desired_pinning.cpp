#include "agent/libvirt/desired_pinning.h"

#include <string>

namespace kvhost {

DesiredPinning PinningForPlacement(const Placement& placement,
                                   const std::string& domain_description, unsigned domain_vcpus) {
  DesiredPinning desired;
  if (placement.dedicated) {
    if (placement.vcpu_cpus.size() != domain_vcpus) {
      throw PlacementApplyError("placement of " + domain_description + " pins " +
                                std::to_string(placement.vcpu_cpus.size()) +
                                " vCPUs but the domain has " + std::to_string(domain_vcpus));
    }
    CpuSet own_cpus;
    for (unsigned cpu : placement.vcpu_cpus) {
      desired.vcpus.push_back(CpuSet::Range(cpu, cpu));
      own_cpus.Add(cpu);
    }
    desired.emulator = placement.emulator_cpu
                           ? CpuSet::Range(*placement.emulator_cpu, *placement.emulator_cpu)
                           : own_cpus;
  } else {
    if (placement.shared_cpus.Empty()) {
      throw PlacementApplyError("placement of " + domain_description +
                                " is shared but has no shared CPUs");
    }
    desired.vcpus.assign(domain_vcpus, placement.shared_cpus);
    desired.emulator = placement.emulator_cpu
                           ? CpuSet::Range(*placement.emulator_cpu, *placement.emulator_cpu)
                           : placement.shared_cpus;
  }
  if (!placement.numa_nodes.empty()) {
    CpuSet nodes;
    for (unsigned node : placement.numa_nodes) nodes.Add(node);
    desired.strict_numa_nodes = nodes;
  }
  return desired;
}

DesiredPinning PinningForUnpin(const CpuSet& online_cpus, unsigned domain_vcpus) {
  if (online_cpus.Empty())
    throw PlacementApplyError("cannot unpin onto an empty set of online CPUs");
  DesiredPinning desired;
  desired.vcpus.assign(domain_vcpus, online_cpus);
  desired.emulator = online_cpus;
  return desired;
}

}  // namespace kvhost
