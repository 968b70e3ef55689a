// kvhost-agent: command-line entry. Wiring only; the work lives in the libraries.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>

#include "agent/cli/commands.h"

int main(int argc, char** argv) {
  // A libvirtd that dies mid-call closes its socket under us: that must be an
  // error from the call (EPIPE), not the end of the agent.
  std::signal(SIGPIPE, SIG_IGN);
  // Logs go to stderr so JSON on stdout stays clean for pipes.
  spdlog::set_default_logger(spdlog::stderr_color_st("kvhost-agent"));
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"kvhost-agent: KubeVirt hypervisor host agent (inspect, capacity, pinning)"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->each([](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); });

  int exit_code = 2;
  kvhost::cli::AddInspectCommand(app, exit_code);
  kvhost::cli::AddCapacityCommands(app, exit_code);
  kvhost::cli::AddPinCommands(app, exit_code);
  kvhost::cli::AddAuditCommand(app, exit_code);
  kvhost::cli::AddPublishCommands(app, exit_code);
  kvhost::cli::AddRunCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    // Bad input names its file and what is wrong; never a crash.
    spdlog::error("{}", e.what());
    return 1;
  }
  return exit_code;
}
