// kubelet's CPU manager checkpoint, <root>/var/lib/kubelet/cpu_manager_state
// (pkg/kubelet/cm/cpumanager/state/checkpoint.go): which CPUs each container
// holds exclusively and the shared pool. Verified with kubelet's own checksum.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/cpu_set.h"
#include "base/sysfs_root.h"

namespace kvhost::kubelet {

inline constexpr std::string_view kCpuManagerStatePath = "var/lib/kubelet/cpu_manager_state";

struct CpuManagerState {
  std::string policy_name;  // "none" or "static"
  CpuSet default_cpu_set;   // the shared pool (reserved CPUs included)
  // pod UID -> container name -> exclusive CPUs. A V1 file (kubelet < 1.18)
  // keys by container ID only; those sit under the pod key "".
  std::map<std::string, std::map<std::string, CpuSet>> entries;

  CpuSet Exclusive() const;
};

// Parses, verifies the checksum and checks the content: known policy, CPUs on
// the host (when `host_cpus` is given), no CPU held by two pods or both
// exclusive and shared. Throws FormatError.
CpuManagerState ParseCpuManagerState(std::string_view text, const CpuSet* host_cpus = nullptr);

// nullopt when the file does not exist (no kubelet, or CPU manager never ran);
// bad content is an InputError naming the file.
std::optional<CpuManagerState> ReadCpuManagerState(const SysfsRoot& root,
                                                   const CpuSet* host_cpus = nullptr);

}  // namespace kvhost::kubelet
