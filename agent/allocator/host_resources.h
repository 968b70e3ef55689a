// The allocator's view of the host: what may be given to VMs, per NUMA node,
// after the configuration has carved out housekeeping CPUs and memory. Built
// once from the host model; pure value, shared by every allocator copy.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"
#include "base/cpu_set.h"

namespace kvhost {

struct CoreInfo {
  CpuSet pus;
  unsigned node = 0;
  unsigned l3 = 0;         // index of the L3 group, for packing within a cache domain
  bool dedicable = false;  // every sibling is in the dedicated pool
};

struct NodeResources {
  unsigned id = 0;
  std::vector<unsigned> cores;       // indexes into HostResources::cores, dedicable ones
  CpuSet dedicable_cpus;             // dedicated-pool CPUs of this node (emulator candidates too)
  uint64_t ordinary_memory_kib = 0;  // MemTotal - reserved - hugepage pools
  std::map<uint64_t, uint64_t> hugepages_free;   // page size KiB -> free pages at discovery
  std::map<uint64_t, uint64_t> hugepages_total;  // page size KiB -> pool size
};

struct HostResources {
  std::vector<CoreInfo> cores;
  std::vector<int> core_of_cpu;                 // CPU id -> index in cores, -1 if offline
  std::vector<NodeResources> nodes;             // nodes with CPUs, by id
  std::vector<std::vector<unsigned>> distance;  // [i][j] between nodes[i] and nodes[j]
  CpuSet online;
  CpuSet reserved;   // housekeeping: never given to VMs
  CpuSet dedicated;  // may be dedicated to vCPUs and emulator threads
  CpuSet shared;     // shared guests float here (minus CPUs dedicated at the moment)
  unsigned threads_per_core = 1;
  double shared_cpu_ratio = 4.0;
  bool allow_numa_span = true;
  bool realtime_ready = false;
  std::vector<std::string> realtime_blockers;
  std::map<std::string, unsigned> gpus;
  uint64_t ordinary_memory_kib = 0;  // sum over nodes

  int NodeIndex(unsigned node_id) const;
  const CoreInfo* CoreOf(unsigned cpu) const;
  // vCPU slots a shared pool of `cpus` CPUs holds at shared_cpu_ratio: the
  // one rule for the pool now, the pool left once cores are dedicated, and
  // the benches. The epsilon keeps a product such as 10 x 0.3 whole.
  unsigned SharedSlotsFor(unsigned cpus) const {
    return static_cast<unsigned>(std::floor(cpus * shared_cpu_ratio + 1e-9));
  }
};

// Applies the configuration defaults documented in README.md (reserved CPUs:
// the first non-isolated core of each node; dedicated pool: the isolated CPUs,
// else every online CPU but the reserved ones).
HostResources BuildHostResources(const HostModel& host, const AgentConfig& config);

}  // namespace kvhost
