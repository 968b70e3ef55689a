// The agent's configuration (/etc/kvhost-agent/config.yaml). Every key, its
// default and why are in README.md; absent keys keep these defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/cpu_set.h"

namespace kvhost {

// Who places dedicated VMs (README "Who places"): the agent's allocator on
// plain libvirt hosts, kubelet's static CPU/memory managers on KubeVirt
// hosts; auto picks kubelet when its CPU manager checkpoint says "static".
enum class PlacementSetting { kAuto, kAgent, kKubelet };

// What `kvhost-agent run` publishes and where (CONFIG.md "Daemon keys").
struct DaemonSettings {
  // How often the volatile facts (hugepage pools, isolation, online CPUs) are re-read.
  std::chrono::milliseconds refresh_interval{10000};
  // node-feature-discovery `local` source file; empty: not written.
  std::string feature_file = "/etc/kubernetes/node-feature-discovery/features.d/kvhost-agent";
  // NodeResourceTopology YAML; empty: not written.
  std::string nrt_file = "/var/lib/kvhost-agent/noderesourcetopology.yaml";
  // Loopback address and port of the read-only HTTP API; empty: off.
  std::string api_address = "127.0.0.1";
  unsigned short api_port = 9478;
  std::string control_socket = "/run/kvhost-agent/control.sock";
  std::string node_name;  // empty: the hostname
};

// The daemon's own qualification runs (CONFIG.md "Qualification schedule"):
// oslat on the free isolated CPUs every `interval`, cancelled when a VM needs them.
struct QualifyScheduleSettings {
  std::chrono::seconds interval{0};  // 0: off
  std::chrono::seconds duration{60};
  double threshold_us = 20;     // as `qualify --threshold-us`
  std::string workload = "no";  // no | memmove
  unsigned rtprio = 1;
};

struct AgentConfig {
  // Housekeeping CPUs: never dedicated, never counted for shared guests; the
  // agent's own threads run here. nullopt: the first physical core of each NUMA
  // node with CPUs (resolved against the host model by the allocator).
  std::optional<CpuSet> reserved_cpus;
  // Memory kept for the host per NUMA node, in KiB, taken off ordinary memory.
  uint64_t reserved_memory_kib_per_node = 1024 * 1024;
  std::map<unsigned, uint64_t> reserved_memory_kib_by_node;  // overrides per node
  // CPUs that may be dedicated. nullopt: the isolated set when non-empty,
  // otherwise every online CPU but the reserved ones.
  std::optional<CpuSet> dedicated_cpus;
  // vCPUs of shared guests per physical CPU of the shared pool.
  double shared_cpu_ratio = 4.0;
  // A dedicated VM that fits on no single node may span the fewest nodes.
  bool allow_numa_span = true;
  // GPUs of each NVIDIA device name the host offers to gn1 guests (none by default).
  std::map<std::string, unsigned> gpus;
  PlacementSetting placement = PlacementSetting::kAuto;
  // kubelet mode: kubelet's KubeletConfiguration, an absolute path on the host
  // (read under --root). Empty: found where kubelet has it
  // (agent/live/kubelet_config_location.h).
  std::string kubelet_config;
  // kubelet mode: the cluster's KubeVirt settings that size virt-launcher pods.
  // developerConfiguration.cpuAllocationRatio (shared vCPUs per requested CPU).
  unsigned kubevirt_cpu_allocation_ratio = 10;
  // The AlignCPUs gate with the even-parity annotation: the emulator takes a
  // second CPU when one would leave an odd count (off in KubeVirt by default).
  bool kubevirt_align_cpus = false;
  // rt1 guests only on a host whose last qualifying `qualify` run passed within
  // this many hours (agent/qualify); off by default.
  bool require_qualification = false;
  unsigned qualification_max_age_hours = 24 * 7;
  // The libvirt domains the agent manages: fnmatch globs on domain names. The
  // others are left alone, as if absent (agent/libvirt/domain_filter.h).
  std::vector<std::string> domains{"*"};
  DaemonSettings daemon;
  QualifyScheduleSettings qualify_schedule;

  std::string source = "defaults";  // the file it came from
};

}  // namespace kvhost
