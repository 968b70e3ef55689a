// Loads hwloc's view of a root: the one place hwloc is called. hwloc gets the
// processor tree right on quirky machines (packages with id -1, AMD compute
// units, hybrid cores), so we take packages, cores, PUs and caches from it.
#pragma once

#include <hwloc.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/host_root.h"
#include "cpu/cpu_topology.h"

namespace kvhost {

struct HwlocNumaNode {
  unsigned id = 0;
  uint64_t memory_kib = 0;
  CpuSet cpus;  // hwloc attaches CPU-less nodes to a parent, so this may be non-empty for them
};

struct HwlocView {
  CpuTopology cpu;
  std::vector<HwlocNumaNode> numa_nodes;
};

class HwlocTopology {
 public:
  // Loads the topology of `root` with the flags discovery needs (disallowed
  // CPUs included, no I/O objects; for a root that is not the real host, only
  // the Linux sysfs backend, so this host's CPUID never leaks into a replayed
  // machine).
  static HwlocTopology Load(const HostRoot& root);

  HwlocView Extract() const;

 private:
  struct Destroy {
    void operator()(hwloc_topology_t t) const { hwloc_topology_destroy(t); }
  };
  explicit HwlocTopology(hwloc_topology_t t) : topo_(t) {}
  std::unique_ptr<hwloc_topology, Destroy> topo_;
};

}  // namespace kvhost
