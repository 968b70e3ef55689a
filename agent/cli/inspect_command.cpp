#include <spdlog/spdlog.h>

#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/inspect_text.h"
#include "agent/host/discover.h"
#include "agent/report/host_report.h"

namespace kvhost::cli {

void AddInspectCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<HostOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Print the host's topology, hugepages, isolation and realtime readiness");
  options->AddTo(cmd, false);
  cmd->callback([options, &exit_code] {
    const HostModel host = DiscoverHost(options->root);
    for (const auto& w : host.warnings) spdlog::warn("{}", w);
    const auto report = BuildHostReport(host);
    std::cout << (options->output == "json" ? ToJson(report) : FormatHostSummary(report));
    exit_code = 0;
  });
}

}  // namespace kvhost::cli
