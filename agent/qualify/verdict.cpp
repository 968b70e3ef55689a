#include "agent/qualify/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace kvhost::qualify {
namespace {

void AddItem(v1::QualificationRun& run, const std::string& name, const char* verdict,
             const std::string& detail) {
  auto* item = run.add_items();
  item->set_name(name);
  item->set_verdict(verdict);
  item->set_detail(detail);
}

// Facts that block realtime placement fail the qualification; the others
// (RT throttling, governors, THP) cost latency and warn.
void AddReadiness(const RealtimeReadiness& readiness, v1::QualificationRun& run) {
  const std::pair<const char*, const Fact*> facts[] = {
      {"preemptRt", &readiness.preempt_rt},
      {"schedRtRuntimeUs", &readiness.sched_rt_runtime_us},
      {"isolatedCpus", &readiness.isolated_cpus},
      {"isolatedCpuGovernors", &readiness.isolated_cpu_governors},
      {"transparentHugepages", &readiness.transparent_hugepages},
      {"kvm", &readiness.kvm},
      {"guestRtBudget", &readiness.guest_rt_budget}};
  const auto blockers = readiness.Blockers();
  for (const auto& [name, fact] : facts) {
    const std::string prefix = std::string(name) + ": ";
    const bool blocks = std::any_of(blockers.begin(), blockers.end(),
                                    [&](const std::string& b) { return b.rfind(prefix, 0) == 0; });
    const char* verdict = blocks ? "fail" : fact->verdict == Verdict::kOk ? "pass" : "warn";
    AddItem(run, name, verdict,
            fact->reason.empty() ? fact->value : fact->value + " (" + fact->reason + ")");
  }
}

v1::QualifyOutcome OutcomeOf(const v1::QualificationRun& run) {
  bool warn = false;
  for (const auto& item : run.items()) {
    if (item.verdict() == "fail") return v1::QUALIFY_FAIL;
    warn = warn || item.verdict() == "warn";
  }
  return warn ? v1::QUALIFY_WARN : v1::QUALIFY_PASS;
}

}  // namespace

int ExitCodeOf(v1::QualifyOutcome outcome) {
  switch (outcome) {
    case v1::QUALIFY_PASS:
      return 0;
    case v1::QUALIFY_WARN:
      return 3;
    case v1::QUALIFY_FAIL:
      return 4;
    case v1::QUALIFY_CANCELLED:
      return 6;
    default:
      return 5;
  }
}

v1::QualificationRun NewRun(const QualifySettings& settings, const CpuChoice& choice) {
  v1::QualificationRun run;
  run.set_qualifying(choice.qualifying);
  run.set_measured_cpus(choice.measured.ToList());
  run.set_main_thread_cpu(choice.main_thread_cpu);
  run.set_main_thread_shares_cpu(choice.main_thread_shares_cpu);
  run.set_duration_seconds(settings.duration_seconds);
  run.set_threshold_us(settings.threshold_us);
  run.set_workload(settings.workload);
  run.set_rtprio(settings.rtprio);
  return run;
}

void Abandon(v1::QualifyOutcome outcome, const std::string& why, v1::QualificationRun& run) {
  run.set_outcome(outcome);
  run.set_error(why);
}

void Judge(const OslatOutput& output, const std::string& output_file,
           const RealtimeReadiness& readiness, v1::QualificationRun& run) {
  run.set_oslat_version(output.version);
  run.set_oslat_cmdline(output.cmdline);
  run.set_realtime_kernel(output.realtime_kernel);
  run.set_output_source(output.source);
  if (output.return_code != 0)
    return Abandon(v1::QUALIFY_ERROR,
                   fmt::format("{}: oslat return_code {}", output_file, output.return_code), run);
  std::map<unsigned, const OslatThread*> by_cpu;
  for (const auto& thread : output.threads) by_cpu[thread.cpu] = &thread;
  const CpuSet measured = ParseCpuList(run.measured_cpus());
  const auto ids = measured.Ids();
  const bool all_reported =
      std::all_of(ids.begin(), ids.end(), [&](unsigned cpu) { return by_cpu.count(cpu) > 0; });
  if (output.threads.size() < measured.Count() || !all_reported)
    return Abandon(v1::QUALIFY_ERROR,
                   fmt::format("{}: {} threads reported for {} CPUs asked ({})", output_file,
                               output.threads.size(), measured.Count(), run.measured_cpus()),
                   run);
  double worst = 0;
  for (const auto& [cpu, thread] : by_cpu) {
    auto* result = run.add_cpus();
    result->set_cpu(cpu);
    result->set_min_us(thread->min_us);
    result->set_avg_us(thread->avg_us);
    result->set_max_us(thread->max_us);
    result->set_passed(thread->max_us < run.threshold_us());
    worst = std::max(worst, thread->max_us);
    AddItem(run, fmt::format("oslat cpu {}", cpu), result->passed() ? "pass" : "fail",
            fmt::format("max {:g} us {} threshold {:g} us (min {:g}, avg {:.3f})", thread->max_us,
                        result->passed() ? "<" : ">=", run.threshold_us(), thread->min_us,
                        thread->avg_us));
  }
  run.set_max_latency_us(worst);
  if (!run.qualifying())
    AddItem(run, "cpus", "warn",
            "CPUs " + run.measured_cpus() + " are not isolated: not qualifying");
  if (run.main_thread_shares_cpu())
    AddItem(
        run, "mainThread", "warn",
        fmt::format("oslat's main thread shares CPU {} (one CPU given)", run.main_thread_cpu()));
  AddReadiness(readiness, run);
  run.set_outcome(OutcomeOf(run));
}

}  // namespace kvhost::qualify
