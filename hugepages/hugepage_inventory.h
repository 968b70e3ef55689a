// Pure model of the hugepage pools: per NUMA node and size, and the global pools.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace kvhost {

struct HugepagePool {
  uint64_t size_kib = 0;
  uint64_t total = 0;
  uint64_t free = 0;
  uint64_t surplus = 0;
  uint64_t reserved = 0;  // global pools only: the kernel keeps no per-node count
  bool operator==(const HugepagePool&) const = default;
};

struct HugepageInventory {
  uint64_t default_size_kib = 0;     // Hugepagesize of /proc/meminfo; 0 when unknown
  std::vector<HugepagePool> global;  // sys/kernel/mm/hugepages, by size
  std::map<unsigned, std::vector<HugepagePool>> per_node;  // node id -> pools by size

  // The node's pool of that size, or nullptr.
  const HugepagePool* NodePool(unsigned node, uint64_t size_kib) const;
  bool operator==(const HugepageInventory&) const = default;
};

}  // namespace kvhost
