#include <spdlog/spdlog.h>

#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/inspect_text.h"
#include "agent/host/discover.h"
#include "agent/kubelet/container_runtime.h"
#include "agent/live/kubelet_live.h"
#include "agent/report/host_report.h"

namespace kvhost::cli {
namespace {

// Who steers IRQs depends on the runtime and on who places (agent/live).
// kubelet's config is the one placement read, or found the same way.
void DescribeContainerRuntime(const HostOptions& options, const HostModel& host,
                              const PlacementFacts& placement, v1::HostReport& report) {
  const bool kubelet_places = placement.owner.owner == PlacementOwner::kKubelet;
  const SysfsRoot sysfs = host.root.Sysfs();
  const auto detected = kubelet::DetectContainerRuntime(
      sysfs, placement.kubelet
                 ? placement.kubelet
                 : FindKubeletConfig(options.root, options.kubelet_config, options.LoadConfig()));
  auto* out = report.mutable_container_runtime();
  out->set_name(kubelet::ContainerRuntimeName(detected.runtime));
  out->set_source(detected.why);
  out->set_agent_steers_irqs(kubelet::AgentSteersIrqs(kubelet_places, detected.runtime));
}

}  // namespace

void AddInspectCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<HostOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Print the host's topology, hugepages, isolation and realtime readiness");
  options->AddTo(cmd, false);
  cmd->add_option("--config", options->config,
                  "Agent config YAML (default /etc/kvhost-agent/config.yaml; absent = defaults)");
  cmd->add_option("--kubelet-config", options->kubelet_config, kKubeletConfigHelp);
  cmd->callback([options, &exit_code] {
    const HostModel host = DiscoverHost(options->root);
    for (const auto& w : host.warnings) spdlog::warn("{}", w);
    auto report = BuildHostReport(host);
    const PlacementFacts placement = ReadPlacement(*options, host);
    DescribeContainerRuntime(*options, host, placement, report);
    *report.mutable_placement() = PlacementMessage(placement);
    if (options->output == "json") {
      std::cout << ToJson(report);
    } else {
      std::cout << FormatHostSummary(report) << PlacementText(placement);
    }
    exit_code = 0;
  });
}

}  // namespace kvhost::cli
