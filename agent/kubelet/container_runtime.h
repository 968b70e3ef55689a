// Which CRI runtime runs the pods: it decides who steers device IRQs off the
// CPUs of a VM whose type says "irq-load-balancing.crio.io: disable". CRI-O
// honours that annotation itself (with its high-performance runtime class);
// containerd ignores it, so there the agent must do it.
#pragma once

#include <optional>
#include <string>

#include "agent/kubelet/kubelet_config.h"
#include "base/sysfs_root.h"

namespace kvhost::kubelet {

enum class ContainerRuntime { kUnknown, kCrio, kContainerd };
const char* ContainerRuntimeName(ContainerRuntime runtime);

struct RuntimeDetection {
  ContainerRuntime runtime = ContainerRuntime::kUnknown;
  std::string why;  // the setting or socket that decided, for inspect
};

// kubelet's containerRuntimeEndpoint first, else the runtime's socket under
// `root` (crio.sock, containerd.sock in run/ or var/run/).
RuntimeDetection DetectContainerRuntime(const SysfsRoot& root,
                                        const std::optional<KubeletConfig>& config);

// Whether the agent itself must steer IRQs for such a VM: always on a plain
// libvirt host (no runtime is involved), and under kubelet unless CRI-O runs.
bool AgentSteersIrqs(bool kubelet_places, ContainerRuntime runtime);

}  // namespace kvhost::kubelet
