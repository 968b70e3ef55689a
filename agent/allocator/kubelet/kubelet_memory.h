// A port of kubelet's memory manager Static policy
// (pkg/kubelet/cm/memorymanager/policy_static.go): per NUMA node, memory and
// each hugepage size with what reservedMemory keeps back; topology hints from
// what the nodes can hold; allocations on one node or on a group of nodes that
// then serve only that group. Pure; the state is passed in and updated.
// Not modelled: init-container memory reuse (pods here have one container).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/allocator/kubelet/kubelet_topology_manager.h"

namespace kvhost::kubelet {

struct MemoryTableState {  // bytes
  uint64_t total = 0, system_reserved = 0, allocatable = 0, reserved = 0, free = 0;
  bool operator==(const MemoryTableState&) const = default;
};

struct NumaMemoryState {
  int assignments = 0;
  std::map<std::string, MemoryTableState> memory;  // "memory", "hugepages-1Gi"...
  std::vector<int> cells;
};
using MachineMemoryState = std::map<int, NumaMemoryState>;

struct MemoryBlockState {
  std::vector<int> numa_affinity;
  std::string type;
  uint64_t size = 0;
};

struct MemoryManagerAssignments {
  MachineMemoryState machine;
  std::map<std::string, std::map<std::string, std::vector<MemoryBlockState>>> entries;
};

// One NUMA node as cadvisor reports it: memory and hugepage pools.
struct NumaMemoryInfo {
  int id = 0;
  uint64_t memory = 0;                     // bytes
  std::map<uint64_t, uint64_t> hugepages;  // page size KiB -> pages
};

using MemoryRequests = std::map<std::string, uint64_t>;  // resource -> bytes

class MemoryStaticPolicy {
 public:
  // `reserved`: reservedMemory, node -> resource -> bytes. Throws
  // std::invalid_argument when no memory is reserved (kubelet refuses that).
  MemoryStaticPolicy(std::vector<NumaMemoryInfo> nodes,
                     std::map<int, std::map<std::string, uint64_t>> reserved);

  MachineMemoryState DefaultMachineState() const;
  // validateState: "" or kubelet's error; initializes an empty state.
  std::string Start(MemoryManagerAssignments& s) const;
  // calculateHints: resource -> hints.
  std::map<std::string, std::vector<TopologyHint>> CalculateHints(
      const MachineMemoryState& machine, const MemoryRequests& requests) const;
  // Allocate for a container of a Guaranteed pod given the topology manager's
  // hint; "" or kubelet's error.
  std::string Allocate(MemoryManagerAssignments& s, const std::string& pod,
                       const std::string& container, const MemoryRequests& requests,
                       const TopologyHint& hint) const;
  void RemoveContainer(MemoryManagerAssignments& s, const std::string& pod,
                       const std::string& container) const;

 private:
  std::vector<NumaMemoryInfo> nodes_;
  std::map<int, std::map<std::string, uint64_t>> reserved_;
};

}  // namespace kvhost::kubelet
