// The parts of kubelet's KubeletConfiguration (by default
// <root>/var/lib/kubelet/config.yaml) that decide where pods are placed. Unknown keys are ignored
// (kubelet has hundreds); malformed YAML or a bad value of a key we read is an error naming the
// file and line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/cpu_set.h"
#include "base/sysfs_root.h"

namespace kvhost::kubelet {

inline constexpr std::string_view kKubeletConfigPath = "var/lib/kubelet/config.yaml";

struct ReservedMemory {  // reservedMemory[]: what kubelet keeps from pods on one NUMA node
  int numa_node = 0;
  std::map<std::string, uint64_t> limits;  // resource ("memory", "hugepages-1Gi") -> bytes
};

struct KubeletConfig {
  std::string source;      // the file it came from
  std::string source_why;  // why that file (agent/live/kubelet_config_location.h); "" if not told
  std::string cpu_manager_policy = "none";
  std::map<std::string, std::string> cpu_manager_policy_options;
  CpuSet reserved_system_cpus;
  std::string topology_manager_policy = "none";
  std::string topology_manager_scope = "container";
  std::map<std::string, std::string> topology_manager_policy_options;
  std::string memory_manager_policy = "None";
  std::vector<ReservedMemory> reserved_memory;
  std::map<std::string, std::string> system_reserved, kube_reserved;  // resource -> quantity
  std::string container_runtime_endpoint;  // "unix:///run/containerd/containerd.sock"...

  // cpuManagerPolicyOptions are strings; kubelet reads these as booleans.
  bool CpuOption(const std::string& name) const;
};

// `source` names the text in errors.
KubeletConfig ParseKubeletConfig(std::string_view text, const std::string& source);
// Reads the file every call; parses it only when its text differs from the
// last one this process parsed (which is then handed back).
KubeletConfig ReadKubeletConfigFile(const std::string& path);
// As ReadKubeletConfigFile, nullopt when the file is absent.
std::optional<KubeletConfig> ReadKubeletConfigIfPresent(const std::string& path);
// <root>/var/lib/kubelet/config.yaml; nullopt when absent. Only the default
// path: which file kubelet reads is LocateKubeletConfig's (agent/live).
std::optional<KubeletConfig> ReadKubeletConfig(const SysfsRoot& root);

}  // namespace kvhost::kubelet
