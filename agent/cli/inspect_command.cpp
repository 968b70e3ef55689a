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

// Who places, and in kubelet mode kubelet's live settings with one warning
// line per setting that disagrees with the agent's config.
std::string PlacementSummary(const HostOptions& options, const HostModel& host) {
  const AgentConfig config = options.LoadConfig();
  const OwnerChoice owner = ChoosePlacementOwner(options.root, config);
  std::string out =
      std::string("placement ") + PlacementOwnerName(owner.owner) + " (" + owner.why + ")\n";
  if (owner.owner != PlacementOwner::kKubelet) return out;
  const kubelet::KubeletConfig live = LoadKubeletConfig(options.root, options.kubelet_config);
  out += "kubelet   " + live.source + ": " + DescribeKubeletSettings(live) + "\n";
  const kubelet::AgentIntent intent =
      AgentIntentFor(BuildHostResources(host, config), host, config);
  for (const auto& line : kubelet::Disagreements(live, intent)) out += "warning: " + line + "\n";
  return out;
}

// Who steers IRQs depends on the runtime and on who places (agent/live).
void DescribeContainerRuntime(const HostOptions& options, v1::HostReport& report) {
  const SysfsRoot sysfs(options.root);
  const auto detected = kubelet::DetectContainerRuntime(sysfs, kubelet::ReadKubeletConfig(sysfs));
  auto* out = report.mutable_container_runtime();
  out->set_name(kubelet::ContainerRuntimeName(detected.runtime));
  out->set_source(detected.why);
  const bool kubelet_places =
      ChoosePlacementOwner(options.root, options.LoadConfig()).owner == PlacementOwner::kKubelet;
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
  cmd->add_option("--kubelet-config", options->kubelet_config,
                  "kubelet mode: kubelet's KubeletConfiguration (default "
                  "<root>/var/lib/kubelet/config.yaml)");
  cmd->callback([options, &exit_code] {
    const HostModel host = DiscoverHost(options->root);
    for (const auto& w : host.warnings) spdlog::warn("{}", w);
    auto report = BuildHostReport(host);
    DescribeContainerRuntime(*options, report);
    if (options->output == "json") {
      std::cout << ToJson(report);
    } else {
      std::cout << FormatHostSummary(report) << PlacementSummary(*options, host);
    }
    exit_code = 0;
  });
}

}  // namespace kvhost::cli
