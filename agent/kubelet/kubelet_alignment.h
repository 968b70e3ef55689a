// The agent's config and kubelet's, side by side: the KubeletConfiguration
// fragment that makes kubelet place as the agent's config intends (the
// `kubelet-config` command), and one line per setting where a live kubelet
// config disagrees (`inspect`). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/kubelet/kubelet_config.h"
#include "base/cpu_set.h"

namespace kvhost::kubelet {

// What the agent's config asks of the host, resolved against it.
struct AgentIntent {
  CpuSet reserved_cpus;  // reservedCpus (or its default) on this host
  bool allow_numa_span = true;
  std::map<int, uint64_t> reserved_memory_by_node;  // bytes kept for the host per NUMA node
};

// kubelet's hard eviction default (memory.available<100Mi); the fragment sets
// it explicitly because reservedMemory must add up to it plus systemReserved.
inline constexpr uint64_t kEvictionHardMemoryBytes = 100ull * 1024 * 1024;

// allowNumaSpan false: single-numa-node (a dedicated VM on one node or not at
// all); true: restricted, which admits a pod only onto the fewest NUMA nodes
// that can hold it, as the agent spans the fewest nodes (best-effort would
// admit a misaligned pod, none would not align at all).
std::string TopologyPolicyFor(bool allow_numa_span);

// The KubeletConfiguration fragment (YAML) agreeing with `intent`.
std::string KubeletConfigFragment(const AgentIntent& intent);

// One line per setting of `live` that disagrees with `intent`; empty when they agree.
std::vector<std::string> Disagreements(const KubeletConfig& live, const AgentIntent& intent);

}  // namespace kvhost::kubelet
