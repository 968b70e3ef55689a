// kubelet's memory manager checkpoint, <root>/var/lib/kubelet/memory_manager_state
// (pkg/kubelet/cm/memorymanager/state/): per NUMA node, memory and hugepages
// (total, reserved for the system, allocatable, given to containers, free) and
// the node groups multi-node allocations formed; per container, its blocks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/sysfs_root.h"

namespace kvhost::kubelet {

inline constexpr std::string_view kMemoryManagerStatePath = "var/lib/kubelet/memory_manager_state";

struct MemoryTable {  // bytes
  uint64_t total = 0, system_reserved = 0, allocatable = 0, reserved = 0, free = 0;
};

struct NumaMemoryCheckpoint {
  int assignments = 0;
  std::map<std::string, MemoryTable> memory;  // "memory", "hugepages-2Mi", "hugepages-1Gi"...
  std::vector<int> cells;                     // this node and the nodes it is grouped with
};

struct MemoryBlock {
  std::vector<int> numa_affinity;
  std::string type;
  uint64_t size = 0;
};

struct MemoryManagerState {
  std::string policy_name;  // "None" or "Static"
  std::map<int, NumaMemoryCheckpoint> machine;
  std::map<std::string, std::map<std::string, std::vector<MemoryBlock>>> entries;
};

// Parses, verifies kubelet's checksum and checks the content: known policy,
// NUMA nodes on the host (when `host_nodes` is given), each table consistent
// (free + reserved = allocatable <= total), blocks on known nodes. FormatError.
MemoryManagerState ParseMemoryManagerState(std::string_view text,
                                           const std::set<int>* host_nodes = nullptr);

// nullopt when absent; bad content is an InputError naming the file.
std::optional<MemoryManagerState> ReadMemoryManagerState(const SysfsRoot& root,
                                                         const std::set<int>* host_nodes = nullptr);

}  // namespace kvhost::kubelet
