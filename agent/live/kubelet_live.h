// kubelet mode of the live loader: kubelet's own files (CPU and memory manager
// checkpoints, its KubeletConfiguration) read under the root and turned into
// the node kubelet's model admits pods into. The I/O is here; the model is
// agent/allocator/kubelet/.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "agent/allocator/host_resources.h"
#include "agent/allocator/kubelet/kubelet_host.h"
#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"
#include "agent/kubelet/kubelet_alignment.h"
#include "agent/kubelet/kubelet_config.h"

namespace kvhost {

// The hard eviction threshold kubelet applies when its config sets none
// (memory.available<100Mi), taken off allocatable memory.
inline constexpr uint64_t kDefaultEvictionHardMemory = 100ull * 1024 * 1024;

// kubelet's config where LocateKubeletConfig finds it (explicit_file is
// --kubelet-config, `config` gives kubeletConfig), its source_why said.
// Throws InputError naming the file and why it was chosen, or what was tried,
// when there is none to read.
kubelet::KubeletConfig LoadKubeletConfig(const std::filesystem::path& root,
                                         const std::string& explicit_file,
                                         const AgentConfig& config);
// The same, nullopt when there is none: for what only consults it (the
// container runtime, audit's full-pcpus-only), also on hosts without kubelet.
std::optional<kubelet::KubeletConfig> FindKubeletConfig(const std::filesystem::path& root,
                                                        const std::string& explicit_file,
                                                        const AgentConfig& config);

// The node as kubelet sees it now: its config's policies and reservations,
// the pods its checkpoints hold. Every inconsistency kubelet itself would
// refuse to start with (bad checksum, policy other than the config's, a CPU
// outside the host, two pods on one CPU, a state its policy cannot replay) is
// an InputError naming the file. The checkpoints are read under the host's root.
std::shared_ptr<const kubelet::KubeletHost> LoadKubeletHost(const HostModel& host,
                                                            const kubelet::KubeletConfig& config,
                                                            const kubevirt::Settings& settings);

// What the agent's config asks of kubelet on this host: its reserved CPUs as
// resolved for the host, allowNumaSpan, the memory it keeps per NUMA node.
kubelet::AgentIntent AgentIntentFor(const HostResources& resources, const HostModel& host,
                                    const AgentConfig& config);

// One line for inspect: the kubelet settings that decide placement.
std::string DescribeKubeletSettings(const kubelet::KubeletConfig& config);

}  // namespace kvhost
