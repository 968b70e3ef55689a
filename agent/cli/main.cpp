// kvhost-agent: command-line entry. Wiring only; the work lives in the libraries.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "agent/cli/inspect_text.h"
#include "agent/host/discover.h"
#include "agent/report/host_report.h"
#include "cpu/sysfs_root.h"

namespace {

int RunInspect(const std::string& root, const std::string& format) {
  const kvhost::HostModel host = kvhost::DiscoverHost(root);
  const auto report = kvhost::BuildHostReport(host);
  for (const auto& w : host.warnings) spdlog::warn("{}", w);
  if (format == "json") std::cout << kvhost::ToJson(report);
  else std::cout << kvhost::FormatHostSummary(report);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_st("kvhost-agent"));
  spdlog::set_pattern("%^%l%$: %v");

  CLI::App app{"kvhost-agent: KubeVirt hypervisor host agent (inspect, capacity, pinning)"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();

  std::string root = "/", format = "text";
  auto* inspect = app.add_subcommand("inspect", "Print this host's topology, hugepages, isolation and realtime readiness");
  inspect->add_option("--root", root, "Filesystem root to read (a sysfs/procfs dump)")->capture_default_str();
  inspect->add_option("-o,--output", format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    if (*inspect) return RunInspect(root, format);
  } catch (const kvhost::InputError& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 2;
}
