// topology.node.k8s.io/v1alpha2 NodeResourceTopology of one NodeReport. Pure.
//
// Zones `node-<id>` of type Node (the NodeResourceTopologyMatch plugin reads no
// other), costs from the SLIT row, resources cpu / memory / hugepages-<size>:
// capacity (what the node has), allocatable (minus reserved CPUs and memory
// kept for the host; all of a hugepage pool), available (allocatable minus what
// VMs hold now).
//
// In kubelet mode the attributes are kubelet's own topologyManagerPolicy and
// scope, and a zone's cpu allocatable and available are kubelet's: less its
// reserved CPUs, less the CPUs its checkpoint hands to pods exclusively.
//
// Attributes, in kubelet's spellings, say what our allocator does (agent mode):
// scope `pod` (a VM, one virt-launcher pod, is placed as a whole); policy
// `single-numa-node` with allowNumaSpan false (a dedicated VM that fits no one
// node is refused), else `restricted` (a VM spans only when no single node fits,
// then over the fewest nodes: kubelet's "preferred" hints; never `best-effort`,
// which admits a misaligned pod when an aligned one could be had).
#pragma once

#include <string>

#include "nrt.pb.h"
#include "publish.pb.h"

namespace kvhost::publish {

// Throws std::invalid_argument when the report has no node name or its
// capacity is unknown (no NRT is better than a guessed one).
v1::nrt::NodeResourceTopology BuildNodeResourceTopology(const v1::NodeReport& report);

std::string TopologyManagerPolicy(const v1::CapacityReport& capacity);

}  // namespace kvhost::publish
