// Everything the agent knows about the host: the pure models of each area,
// built once from a root by DiscoverHost and then only read.
#pragma once

#include <string>
#include <vector>

#include "base/host_root.h"
#include "cpu/cpu_topology.h"
#include "cpu/isolation.h"
#include "hugepages/hugepage_inventory.h"
#include "numa/numa_topology.h"
#include "realtime/readiness.h"

namespace kvhost {

struct HostModel {
  // Where it was read from, and whether that is this machine: readers of
  // files that move take their SysfsRoot from it.
  HostRoot root;
  CpuTopology cpu;
  NumaTopology numa;
  HugepageInventory hugepages;
  Isolation isolation;
  RealtimeReadiness realtime;
  std::vector<std::string> warnings;  // odd input that left the model right
};

}  // namespace kvhost
