// Configured variants of fixture hosts for the benches: the fixtures are dumps
// of machines as found (mostly no hugepages, nothing isolated), while the
// allocator matters most on hosts set up for VMs. Derived the way
// tests/allocator_support.h derives them: the model is edited, not the files.
#pragma once

#include <string>

#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"

namespace kvhost::bench {

// How a variant splits each NUMA node with CPUs. The first core of every node
// stays un-isolated so the documented default reserves it for the host.
struct VariantShape {
  // Of each node's cores after the reserved first one, the share isolated
  // (the dedicated pool); the rest, at least one core, is the shared pool.
  double dedicated_core_share = 0.75;
  // Of each node's memory after the config's reserved memory, the share
  // turned into 2Mi pages and into 1Gi pages; ordinary memory keeps the rest.
  double two_mi_memory_share = 0.25;
  double one_gi_memory_share = 0.25;
  unsigned gpus_per_node = 1;  // offered through AgentConfig::gpus
};

inline constexpr const char* kGpuDevice = "nvidia.com/A400";  // what the seed's gn1 asks for

struct ConfiguredHost {
  HostModel model;
  AgentConfig config;
  std::string summary;  // one line: what the variant reserved, isolated and offers
};

// Isolates, reserves hugepages (total = free, as right after boot), makes the
// host realtime-ready and offers GPUs. The model's other facts are kept.
ConfiguredHost ConfigureVariant(HostModel host, const VariantShape& shape);

}  // namespace kvhost::bench
