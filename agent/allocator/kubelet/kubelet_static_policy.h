// A port of kubelet's static CPU manager policy
// (pkg/kubelet/cm/cpumanager/policy_static.go, policy_options.go): reserved
// CPUs, full-pcpus-only admission, the topology hints the CPU manager gives
// the topology manager, and where a container's exclusive CPUs land for a
// NUMA affinity. Pure; the state is passed in and updated like kubelet's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/kubelet/kubelet_cpu_assignment.h"
#include "agent/allocator/kubelet/kubelet_topology_manager.h"

namespace kvhost::kubelet {

// cpuManagerPolicyOptions that change placement. (distribute-cpus-across-cores
// and prefer-align-cpus-by-uncorecache are not modelled: alpha, and refused.)
struct StaticPolicyOptions {
  bool full_pcpus_only = false;
  bool distribute_cpus_across_numa = false;
  bool align_by_socket = false;
  bool strict_cpu_reservation = false;  // reserved CPUs leave the shared pool too
};
// kubelet's option names with "true"/"false" values; an unknown or unmodelled
// option is an error (kubelet refuses unknown ones too).
StaticPolicyOptions ParseStaticPolicyOptions(const std::map<std::string, std::string>& options);

// guaranteedCPUs for a one-container pod: the integer CPU request of a
// Guaranteed container (request == limit), else 0 (shared pool).
int GuaranteedCpus(uint64_t request_milli, uint64_t limit_milli);

// The CPU manager state kubelet keeps (cpu_manager_state).
struct CpuManagerAssignments {
  CpuSet default_cpu_set;
  std::map<std::string, std::map<std::string, CpuSet>> assignments;  // pod -> container -> CPUs
};

class StaticPolicy {
 public:
  // `reserved` when given (reservedSystemCPUs), else `num_reserved` CPUs taken by
  // topology from CPU 0 up, as kubelet does for kube/system-reserved cpu. Throws
  // std::invalid_argument when the reservation cannot be made.
  StaticPolicy(CpuTopology topology, int num_reserved, CpuSet reserved,
               StaticPolicyOptions options);

  const CpuTopology& topology() const { return topology_; }
  const CpuSet& reserved() const { return reserved_; }
  const StaticPolicyOptions& options() const { return options_; }

  // The state a fresh kubelet starts with.
  CpuManagerAssignments InitialState() const;
  CpuSet AvailableCpus(const CpuManagerAssignments& s) const {
    return s.default_cpu_set - reserved_;
  }

  // generateCPUTopologyHints.
  std::vector<TopologyHint> GenerateHints(const CpuSet& available, const CpuSet& reusable,
                                          int request) const;

  // GetTopologyHints for one container requesting `request` exclusive CPUs:
  // nullopt ("no preference") when it takes none; regenerated from its CPUs
  // when it already holds them (an empty list when their number differs).
  std::optional<std::vector<TopologyHint>> ContainerHints(const CpuManagerAssignments& s,
                                                          const std::string& pod,
                                                          const std::string& container,
                                                          int request) const;

  // Allocate for one container of a Guaranteed pod with `num_cpus` integer CPUs
  // and the topology manager's `affinity`; updates `s`. Returns kubelet's error
  // text, or "" on success.
  std::string Allocate(CpuManagerAssignments& s, const std::string& pod,
                       const std::string& container, int num_cpus, std::optional<NumaMask> affinity,
                       const CpuSet& reusable = {}) const;

  TakeResult TakeByTopology(const CpuSet& available, int num_cpus) const;

  // Start (validateState): "" or kubelet's error; initializes an empty state.
  std::string Start(CpuManagerAssignments& s) const;
  // RemoveContainer: its CPUs go back to the shared pool unless a sibling container holds them.
  void RemoveContainer(CpuManagerAssignments& s, const std::string& pod,
                       const std::string& container) const;

 private:
  CpuSet AlignedCpus(NumaMask affinity, const CpuSet& allocatable) const;
  bool IsHintSocketAligned(NumaMask mask, int min_affinity_size) const;

  CpuTopology topology_;
  CpuSet reserved_, reserved_physical_;
  StaticPolicyOptions options_;
  // Every non-empty set of NUMA nodes in bitmask.IterateBitMasks' order (by
  // size, then lexicographically) with its CPUs: GenerateHints walks them for
  // every container, and they never change.
  struct NumaMaskCpus {
    NumaMask mask = 0;
    CpuSet cpus;
    int count = 0;
  };
  std::vector<NumaMaskCpus> numa_masks_;
};

}  // namespace kvhost::kubelet
