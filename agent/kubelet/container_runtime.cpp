#include "agent/kubelet/container_runtime.h"

#include <array>
#include <utility>

namespace kvhost::kubelet {
namespace {

std::optional<ContainerRuntime> RuntimeOfEndpoint(const std::string& endpoint) {
  if (endpoint.find("crio") != std::string::npos) return ContainerRuntime::kCrio;
  if (endpoint.find("containerd") != std::string::npos) return ContainerRuntime::kContainerd;
  return std::nullopt;
}

}  // namespace

const char* ContainerRuntimeName(ContainerRuntime runtime) {
  switch (runtime) {
    case ContainerRuntime::kCrio:
      return "cri-o";
    case ContainerRuntime::kContainerd:
      return "containerd";
    case ContainerRuntime::kUnknown:
      break;
  }
  return "unknown";
}

RuntimeDetection DetectContainerRuntime(const SysfsRoot& root,
                                        const std::optional<KubeletConfig>& config) {
  if (config && !config->container_runtime_endpoint.empty()) {
    if (auto runtime = RuntimeOfEndpoint(config->container_runtime_endpoint))
      return {*runtime,
              config->source + ": containerRuntimeEndpoint " + config->container_runtime_endpoint};
  }
  static constexpr std::array<std::pair<const char*, ContainerRuntime>, 4> kSockets{{
      {"run/crio/crio.sock", ContainerRuntime::kCrio},
      {"var/run/crio/crio.sock", ContainerRuntime::kCrio},
      {"run/containerd/containerd.sock", ContainerRuntime::kContainerd},
      {"var/run/containerd/containerd.sock", ContainerRuntime::kContainerd},
  }};
  for (const auto& [socket, runtime] : kSockets)
    if (root.Exists(socket)) return {runtime, root.PathOf(socket).string() + " exists"};
  return {ContainerRuntime::kUnknown, "no kubelet containerRuntimeEndpoint and no CRI socket"};
}

bool AgentSteersIrqs(bool kubelet_places, ContainerRuntime runtime) {
  return !kubelet_places || runtime != ContainerRuntime::kCrio;
}

}  // namespace kvhost::kubelet
