#include "agent/qualify/run_text.h"

#include <fmt/format.h>

namespace kvhost::qualify {

const char* OutcomeName(v1::QualifyOutcome outcome) {
  switch (outcome) {
    case v1::QUALIFY_PASS:
      return "PASS";
    case v1::QUALIFY_WARN:
      return "WARN";
    case v1::QUALIFY_FAIL:
      return "FAIL";
    case v1::QUALIFY_ERROR:
      return "ERROR";
    case v1::QUALIFY_CANCELLED:
      return "CANCELLED";
    default:
      return "UNKNOWN";
  }
}

std::string RunText(const v1::QualificationRun& run) {
  std::string out = fmt::format(
      "qualification: {}{}\n"
      "  started {}  ended {}\n"
      "  oslat {} s on CPUs {} (main thread CPU {}{}), workload {}, rtprio {}, threshold {:g} us\n",
      OutcomeName(run.outcome()), run.qualifying() ? "" : " (not qualifying)", run.started(),
      run.ended(), run.duration_seconds(), run.measured_cpus(), run.main_thread_cpu(),
      run.main_thread_shares_cpu() ? ", shared" : "", run.workload(), run.rtprio(),
      run.threshold_us());
  if (!run.error().empty()) out += "  error: " + run.error() + "\n";
  if (!run.oslat_version().empty())
    out += fmt::format("  oslat {} (output from {}), realtime kernel: {}\n", run.oslat_version(),
                       run.output_source(), run.realtime_kernel() ? "yes" : "no");
  if (run.cpus_size() > 0)
    out += fmt::format("  worst max latency: {:g} us\n", run.max_latency_us());
  for (const auto& item : run.items())
    out += fmt::format("  {:<5} {:<22} {}\n", item.verdict(), item.name(), item.detail());
  return out;
}

std::string HistoryText(const v1::QualificationHistory& history) {
  if (history.runs_size() == 0) return "no qualification runs kept\n";
  std::string out = fmt::format("{:<21} {:<10} {:<9} {:<10} {:>8} {:>12}\n", "STARTED", "OUTCOME",
                                "CPUS", "QUALIFYING", "SECONDS", "MAX(us)");
  for (const auto& run : history.runs())
    out += fmt::format("{:<21} {:<10} {:<9} {:<10} {:>8} {:>12}\n", run.started(),
                       OutcomeName(run.outcome()), run.measured_cpus(),
                       run.qualifying() ? "yes" : "no", run.duration_seconds(),
                       run.cpus_size() ? fmt::format("{:g}", run.max_latency_us()) : "-");
  return out;
}

}  // namespace kvhost::qualify
