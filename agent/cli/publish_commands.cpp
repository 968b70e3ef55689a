// `labels`, `nrt` and `metrics`: what the daemon publishes, printed once for the
// host as it stands (agent/live: what runs included).
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/publish/feature_file_writer.h"
#include "agent/publish/metrics.h"
#include "agent/publish/nfd_labels.h"
#include "agent/publish/nrt.h"
#include "agent/publish/proto_yaml.h"
#include "agent/qualify/history.h"
#include "agent/report/host_report.h"
#include "agent/report/node_report.h"
#include "kvhost_build_info.h"

namespace kvhost::cli {
namespace {

struct PublishOptions : HostOptions {
  std::string node_name;  // empty: this machine's hostname
  std::string prefix = publish::LabelOptions{}.prefix;
};

v1::NodeReport BuildReport(const PublishOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const Catalog catalog = options.LoadCatalog();
  const LiveHost live = options.LoadLive(options.ReadRunning(catalog));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  v1::NodeReport report = BuildNodeReport(
      live.host, live.allocator, catalog, PlacementMessage(PlacementOf(live, options.LoadConfig())),
      {.node_name = options.node_name.empty() ? LocalHostName() : options.node_name,
       .version = build_info::kVersion,
       .git_commit = build_info::kGitCommit,
       .build_type = build_info::kBuildType,
       .refresh_duration_seconds = took},
      qualify::ReadHistory(options.StateDir()));
  *report.mutable_kubelet_cpus() = KubeletCpusOf(live);
  return report;
}

std::shared_ptr<PublishOptions> AddCommand(CLI::App& app, const char* name, const char* help) {
  auto options = std::make_shared<PublishOptions>();
  CLI::App* cmd = app.add_subcommand(name, help);
  options->AddTo(cmd, true);
  // Each prints one fixed format (an NFD features file, Prometheus text); nrt
  // offers its own -o (yaml or json). None offers the text/json choice.
  cmd->remove_option(cmd->get_option("--output"));
  options->AddLiveOptions(cmd);
  cmd->add_option("--node-name", options->node_name, "Kubernetes node name (default: hostname)");
  if (std::string(name) == "labels")
    cmd->add_option("--prefix", options->prefix, "Label prefix (a DNS subdomain and '/')")
        ->capture_default_str();
  return options;
}

}  // namespace

void AddPublishCommands(CLI::App& app, int& exit_code) {
  auto labels = AddCommand(app, "labels", "Print the node-feature-discovery features.d file");
  app.get_subcommand("labels")->callback([labels, &exit_code] {
    const auto now = std::chrono::system_clock::now();
    const auto report = BuildReport(*labels);
    const auto map = publish::BuildNodeLabels(report, {.prefix = labels->prefix});
    std::cout << publish::FormatFeatureFile(
        map,
        std::chrono::ceil<std::chrono::seconds>(now + publish::FeatureFileOptions{}.expiry_window));
    exit_code = 0;
  });

  auto nrt = AddCommand(app, "nrt", "Print the NodeResourceTopology object (-o yaml or json)");
  nrt->output = "yaml";
  CLI::App* nrt_command = app.get_subcommand("nrt");
  nrt_command->add_option("-o,--output", nrt->output, "yaml or json")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();
  app.get_subcommand("nrt")->callback([nrt, &exit_code] {
    const auto object = publish::BuildNodeResourceTopology(BuildReport(*nrt));
    std::cout << (nrt->output == "json" ? ToJson(object) : publish::ToYaml(object));
    exit_code = 0;
  });

  auto metrics = AddCommand(app, "metrics", "Print the Prometheus metrics once");
  app.get_subcommand("metrics")->callback([metrics, &exit_code] {
    std::cout << publish::FormatMetrics(BuildReport(*metrics));
    exit_code = 0;
  });
}

}  // namespace kvhost::cli
