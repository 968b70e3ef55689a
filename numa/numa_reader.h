// Reads the NUMA nodes of a root: the node set from hwloc (which merges nodes of
// a broken firmware table), CPUs, memory and distances from sysfs node directories.
#pragma once

#include <string>
#include <vector>

#include "base/sysfs_root.h"
#include "cpu/hwloc_topology.h"
#include "numa/numa_topology.h"

namespace kvhost {

// Throws InputError for a malformed node file. Oddities that leave the model
// right (a CPU claimed by two nodes, a node hwloc does not know, a distance row
// with one column per possible node rather than per online node) go to warnings.
NumaTopology ReadNumaTopology(const SysfsRoot& root, const std::vector<HwlocNumaNode>& hwloc_nodes,
                              const CpuSet& online, std::vector<std::string>& warnings);

// What moved in the NUMA memory since `topo` was read: a node directory come
// or gone, or a node's MemTotal changed (memory hotplug, which changes no
// CPU). Empty when nothing did. Throws InputError for a malformed meminfo.
std::string NumaMemoryChange(const SysfsRoot& root, const NumaTopology& topo);

}  // namespace kvhost
