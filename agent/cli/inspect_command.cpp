#include <spdlog/spdlog.h>

#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/inspect_text.h"
#include "agent/host/discover.h"
#include "agent/kubelet/container_runtime.h"
#include "agent/report/host_report.h"

namespace kvhost::cli {
namespace {

// Who steers IRQs depends on the runtime and on who places (agent/live).
void DescribeContainerRuntime(const std::string& root, v1::HostReport& report) {
  const SysfsRoot sysfs(root);
  const auto detected = kubelet::DetectContainerRuntime(sysfs, kubelet::ReadKubeletConfig(sysfs));
  auto* out = report.mutable_container_runtime();
  out->set_name(kubelet::ContainerRuntimeName(detected.runtime));
  out->set_source(detected.why);
  const bool kubelet_places =
      ChoosePlacementOwner(root, HostOptions{}.LoadConfig()).owner == PlacementOwner::kKubelet;
  out->set_agent_steers_irqs(kubelet::AgentSteersIrqs(kubelet_places, detected.runtime));
}

}  // namespace

void AddInspectCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<HostOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Print the host's topology, hugepages, isolation and realtime readiness");
  options->AddTo(cmd, false);
  cmd->callback([options, &exit_code] {
    const HostModel host = DiscoverHost(options->root);
    for (const auto& w : host.warnings) spdlog::warn("{}", w);
    auto report = BuildHostReport(host);
    DescribeContainerRuntime(options->root, report);
    std::cout << (options->output == "json" ? ToJson(report) : FormatHostSummary(report));
    exit_code = 0;
  });
}

}  // namespace kvhost::cli
