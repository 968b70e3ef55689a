#include <iostream>

#include "agent/cli/commands.h"
#include "agent/host/discover.h"
#include "agent/live/kubelet_live.h"

namespace kvhost::cli {

void AddKubeletConfigCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<HostOptions>();
  CLI::App* cmd = app.add_subcommand(
      "kubelet-config",
      "Print the KubeletConfiguration fragment that makes kubelet place as the agent's config "
      "intends (reserved CPUs, static CPU and memory managers, topology policy)");
  cmd->add_option("--root", options->root, "Filesystem root to read (a sysfs/procfs dump)")
      ->capture_default_str();
  cmd->add_option("--config", options->config,
                  "Agent config YAML (default /etc/kvhost-agent/config.yaml; absent = defaults)");
  cmd->callback([options, &exit_code] {
    const AgentConfig config = options->LoadConfig();
    const HostModel host = DiscoverHost(options->root);
    const HostResources resources = BuildHostResources(host, config);
    std::cout << kubelet::KubeletConfigFragment(AgentIntentFor(resources, host, config));
    exit_code = 0;
  });
}

}  // namespace kvhost::cli
