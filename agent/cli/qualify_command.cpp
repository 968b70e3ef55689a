// `kvhost-agent qualify`: measure the host's realtime latency with oslat on
// free isolated CPUs and keep the verdict (agent/qualify does the work).
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/qualify/history.h"
#include "agent/qualify/qualification.h"
#include "agent/qualify/run_text.h"

namespace kvhost::cli {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void RememberStopSignal(int signal) { g_stop_signal = signal; }

// Ctrl-C and SIGTERM stop the run (oslat is killed and reaped, the run kept
// as cancelled) instead of killing the agent mid-run; restored on exit.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction action {};
    action.sa_handler = RememberStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

struct QualifyOptions {
  HostOptions host;
  std::string duration = "60s";
  std::string cpus = "auto";
  qualify::QualifySettings settings;
  bool allow_non_isolated = false;
  bool history = false;
  std::string oslat = "/usr/bin/oslat";
};

// "60", "60s", "5m", "12h": whole seconds, at least 1.
unsigned ParseDuration(const std::string& text) {
  size_t used = 0;
  unsigned long value = 0;
  try {
    value = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  const unsigned long scale = unit.empty() || unit == "s" ? 1
                              : unit == "m"               ? 60
                              : unit == "h"               ? 3600
                                                          : 0;
  if (used == 0 || scale == 0 || value == 0 || value > 7 * 86400 / scale)
    throw std::invalid_argument("--duration " + text + ": want N, Ns, Nm or Nh (1 s to 7 days)");
  return static_cast<unsigned>(value * scale);
}

template <typename Message>
void PrintJson(const Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
}

int ShowHistory(const QualifyOptions& options) {
  const auto history = qualify::ReadHistory(options.host.StateDir());
  if (options.host.output == "json")
    PrintJson(history);
  else
    std::cout << qualify::HistoryText(history);
  return 0;
}

qualify::RunControl TerminalControl(unsigned duration_seconds) {
  qualify::RunControl control;
  control.stop_reason = []() -> std::string {
    if (g_stop_signal == 0) return "";
    return g_stop_signal == SIGINT ? "interrupted (Ctrl-C)" : "stopped by SIGTERM";
  };
  if (isatty(STDERR_FILENO))
    control.progress = [duration_seconds](std::chrono::seconds elapsed) {
      std::fprintf(stderr, "\rqualify: %ld/%u s ", static_cast<long>(elapsed.count()),
                   duration_seconds);
      if (elapsed.count() >= duration_seconds) std::fprintf(stderr, "(collecting)");
    };
  return control;
}

int Qualify(QualifyOptions& options) {
  if (options.history) return ShowHistory(options);
  options.settings.duration_seconds = ParseDuration(options.duration);
  // Never measure on a CPU a VM uses: what libvirt says runs counts too.
  const LiveHost live = options.host.LoadLive(options.host.ReadRunning(options.host.LoadCatalog()));
  qualify::CpuRequest request;
  request.allow_non_isolated = options.allow_non_isolated;
  if (options.cpus != "auto") request.list = ParseCpuList(options.cpus);
  const qualify::QualifyJob job{
      .settings = options.settings,
      .choice = qualify::ChooseCpus(live.host.cpu, live.host.isolation.isolated,
                                    live.allocator.HeldCpus(), request),
      .state_dir = options.host.StateDir(),
      .oslat = options.oslat,
      .margin = std::chrono::seconds(30)};
  g_stop_signal = 0;
  const StopSignals signals;
  const auto run = qualify::RunQualification(job, live.host.realtime,
                                             TerminalControl(options.settings.duration_seconds));
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  if (options.host.output == "json")
    PrintJson(run);
  else
    std::cout << qualify::RunText(run);
  return qualify::ExitCodeOf(run.outcome());
}

}  // namespace

void AddQualifyCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<QualifyOptions>();
  auto* command = app.add_subcommand(
      "qualify", "Measure realtime latency with oslat on free isolated CPUs and keep the verdict");
  options->host.AddTo(command, true);
  options->host.AddLiveOptions(command);
  command->add_option("--duration", options->duration, "oslat run time: N, Ns, Nm, Nh")
      ->capture_default_str();
  command
      ->add_option("--cpus", options->cpus,
                   "auto (isolated CPUs no VM holds) or a CPU list; the first is oslat's main "
                   "thread")
      ->capture_default_str();
  command
      ->add_option("--threshold-us", options->settings.threshold_us,
                   "pass when every CPU's max latency is strictly below this")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--workload", options->settings.workload, "oslat workload")
      ->check(CLI::IsMember({"no", "memmove"}))
      ->capture_default_str();
  command->add_option("--rtprio", options->settings.rtprio, "SCHED_FIFO priority of oslat")
      ->check(CLI::Range(1, 99))
      ->capture_default_str();
  command->add_flag("--allow-non-isolated", options->allow_non_isolated,
                    "measure non-isolated CPUs too (the verdict then says not qualifying)");
  command->add_flag("--history", options->history, "show the kept runs instead of running");
  command->add_option("--oslat", options->oslat, "oslat binary (Debian rt-tests)")
      ->capture_default_str();
  command->callback([options, &exit_code] { exit_code = Qualify(*options); });
}

}  // namespace kvhost::cli
