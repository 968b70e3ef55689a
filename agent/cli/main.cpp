// kvhost-agent: command-line entry. Wiring only; the work lives in the libraries.
#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "agent/cli/commands.h"
#include "base/nearest_name.h"
#include "kvhost_build_info.h"

namespace {

// Every command-line mistake (unknown option or command, bad value, missing
// argument) exits with this one code, whatever CLI11 error class it was.
constexpr int kUsageExitCode = 2;

// The first argument that is neither an option nor --log-level's value: the
// command the user asked for.
std::string RequestedCommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--log-level") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] != '-') return arg;
  }
  return "";
}

// "unknown command 'X' (commands: ...)" rather than CLI11's "A subcommand is
// required", which reads as if none had been given.
std::optional<std::string> UnknownCommand(const CLI::App& app, int argc, char** argv) {
  const std::string requested = RequestedCommand(argc, argv);
  if (requested.empty()) return std::nullopt;
  std::string known;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->check_name(requested)) return std::nullopt;
    known += (known.empty() ? "" : ", ") + sub->get_name();
    names.push_back(sub->get_name());
  }
  const auto nearest = kvhost::NearestName(requested, names);
  return "unknown command '" + requested + "' (" +
         (nearest ? "did you mean '" + *nearest + "'? " : "") + "commands: " + known + ")";
}

// CLI11's "The following arguments were not expected: --roo", with the
// nearest flag of the command that was parsed ("did you mean --root?").
std::string WithNearestFlag(const CLI::App& app, const CLI::ExtrasError& error) {
  std::vector<std::string> flags;
  const auto add_flags = [&flags](const CLI::App* command) {
    for (const CLI::Option* option : command->get_options())
      for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
  };
  add_flags(&app);
  for (const CLI::App* sub : app.get_subcommands()) add_flags(sub);
  std::string message = error.what();
  const size_t dash = message.find(" --");
  if (dash == std::string::npos) return message;
  const std::string given =
      message.substr(dash + 1, message.find_first_of(" =", dash + 1) - dash - 1);
  return message + kvhost::DidYouMean(given, flags);
}

// The daemon speaks at the default level (its start, what changed, what
// fails); a one-shot command prints its answer and only warnings beside it.
std::string DefaultLogLevel(int argc, char** argv) {
  const std::string command = RequestedCommand(argc, argv);
  bool watch = false;
  for (int i = 1; i < argc; ++i) watch = watch || std::string(argv[i]) == "--watch";
  return command == "run" || (command == "pin" && watch) ? "info" : "warn";
}

std::string VersionLine() {
  return std::string("kvhost-agent ") + kvhost::build_info::kVersion + " (commit " +
         kvhost::build_info::kGitCommit + ", " + kvhost::build_info::kBuildType + " build)";
}

// libprotobuf logs on its own (a string field that is not UTF-8, say) as
// "[libprotobuf ERROR file:line] ..." on stderr, past the agent's format and
// --log-level; its messages go through spdlog instead.
void ForwardToSpdlog(google::protobuf::LogLevel level, const char* filename, int line,
                     const std::string& message) {
  using google::protobuf::LogLevel;
  const auto spd_level = level == LogLevel::LOGLEVEL_INFO      ? spdlog::level::info
                         : level == LogLevel::LOGLEVEL_WARNING ? spdlog::level::warn
                         : level == LogLevel::LOGLEVEL_ERROR   ? spdlog::level::err
                                                               : spdlog::level::critical;
  const size_t end = message.find_last_not_of(" \n");
  spdlog::log(spd_level, "libprotobuf: {} ({}:{})", message.substr(0, end + 1), filename, line);
}

}  // namespace

int main(int argc, char** argv) {
  // A libvirtd that dies mid-call closes its socket under us: that must be an
  // error from the call (EPIPE), not the end of the agent.
  std::signal(SIGPIPE, SIG_IGN);
  // Logs go to stderr so JSON on stdout stays clean for pipes.
  spdlog::set_default_logger(spdlog::stderr_color_st("kvhost-agent"));
  spdlog::set_pattern("%^%l%$: %v");
  std::string log_level = DefaultLogLevel(argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));
  google::protobuf::SetLogHandler(&ForwardToSpdlog);  // before any thread: it is not thread-safe

  CLI::App app{"kvhost-agent: KubeVirt hypervisor host agent (inspect, capacity, pinning)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionLine());
  // Subcommands created from here on hand options they do not know (such as
  // --log-level written after the command) up to this app.
  app.fallthrough();
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error, critical or off (default: info for the daemon, "
                 "warn otherwise)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str()
      ->each([](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); });

  int exit_code = 2;
  kvhost::cli::AddInspectCommand(app, exit_code);
  kvhost::cli::AddCapacityCommands(app, exit_code);
  kvhost::cli::AddPinCommands(app, exit_code);
  kvhost::cli::AddAuditCommand(app, exit_code);
  kvhost::cli::AddPublishCommands(app, exit_code);
  kvhost::cli::AddKubeletConfigCommand(app, exit_code);
  kvhost::cli::AddQualifyCommand(app, exit_code);
  kvhost::cli::AddRunCommand(app, exit_code);
  kvhost::cli::AddCompletionCommand(app, exit_code);
  if (const auto unknown = UnknownCommand(app, argc, argv)) {
    std::cerr << *unknown << "\nRun with --help for more information.\n";
    return kUsageExitCode;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    std::cerr << WithNearestFlag(app, e) << "\nRun with --help for more information.\n";
    return kUsageExitCode;
  } catch (const CLI::ParseError& e) {
    // --help and --version are ParseErrors with exit code 0.
    return app.exit(e) == 0 ? 0 : kUsageExitCode;
  } catch (const std::exception& e) {
    // Bad input names its file and what is wrong; never a crash.
    spdlog::error("{}", e.what());
    return 1;
  }
  return exit_code;
}
