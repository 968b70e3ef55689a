// A port of kubelet's exclusive-CPU selection,
// pkg/kubelet/cm/cpumanager/cpu_assignment.go (kubernetes/kubernetes, the
// version before the uncore-cache and spread-across-cores options were threaded
// through takeByTopology*): takeByTopologyNUMAPacked and
// takeByTopologyNUMADistributed, with the same orderings and tie-breaks, so the
// CPUs chosen here are the CPUs kubelet's static policy chooses.
#pragma once

#include <string>

#include "agent/allocator/kubelet/kubelet_topology.h"

namespace kvhost::kubelet {

// kubelet returns (cpuset, error); an empty error is success.
struct TakeResult {
  CpuSet cpus;
  std::string error;
  bool ok() const { return error.empty(); }
};

// Fills whole NUMA nodes/sockets, then whole cores, then single CPUs, each
// level sorted by ascending free CPUs, ties by ascending id.
TakeResult TakeByTopologyNumaPacked(const CpuTopology& topo, const CpuSet& available, int num_cpus);

// KEP-2902: spread `num_cpus` evenly over the fewest NUMA nodes that can hold
// them in groups of `cpu_group_size`, the remainder where it keeps the nodes
// most balanced; falls back to the packed algorithm.
TakeResult TakeByTopologyNumaDistributed(const CpuTopology& topo, const CpuSet& available,
                                         int num_cpus, int cpu_group_size);

// The orders the accumulator walks, exposed for kubelet's own accumulator tests
// (TestCPUAccumulatorFree*).
struct AccumulatorView {
  std::vector<int> free_numa_nodes, free_sockets, free_cores, free_cpus;
};
AccumulatorView ViewAccumulator(const CpuTopology& topo, const CpuSet& available);

}  // namespace kvhost::kubelet
