// One qualification end to end: hold the CPUs, run oslat, read its output,
// judge, keep the run in the history. The CLI and the daemon both call this;
// the daemon's stop_reason cancels a run when a VM needs its CPUs.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/qualify/cpu_choice.h"
#include "agent/qualify/oslat_runner.h"
#include "agent/qualify/verdict.h"
#include "realtime/readiness.h"

namespace kvhost::qualify {

struct QualifyJob {
  QualifySettings settings;
  CpuChoice choice;
  std::filesystem::path state_dir;  // history and hold; empty: keep nothing
  std::filesystem::path oslat = "/usr/bin/oslat";
  std::chrono::seconds margin{30};
};

// Never throws for what oslat does: every failure is an ERROR or CANCELLED run
// with the reason (naming the output file), and that run is kept too.
v1::QualificationRun RunQualification(const QualifyJob& job, const RealtimeReadiness& readiness,
                                      const RunControl& control);

// The steps RunQualification takes, for the daemon, which waits for oslat on
// its own event loop instead (agent/daemon/qualify_schedule.h).
// oslat's JSON goes to a private TempDir (base/temp_dir.h) with this prefix.
inline constexpr std::string_view kOslatWorkDirPrefix = "kvhost-qualify.";
// The run's record, stamped with its start.
v1::QualificationRun StartRun(const QualifyJob& job);
OslatInvocation InvocationOf(const QualifyJob& job, const std::filesystem::path& json_file);
// Judges what oslat left (its exit, then its JSON or printed summary); every
// problem becomes an ERROR or CANCELLED outcome with the reason.
void RecordExit(const QualifyJob& job, const OslatExit& exit,
                const std::filesystem::path& json_file, const RealtimeReadiness& readiness,
                v1::QualificationRun& run);
// Stamps the end and keeps the run in the history (when the job has a state dir).
void EndRun(const QualifyJob& job, v1::QualificationRun& run);

// Pure: why a run on `run_cpus` must stop now that VMs hold `held_by_vms`
// (empty: it may go on). The daemon's stop_reason.
std::string PreemptionReason(const CpuSet& run_cpus, const CpuSet& held_by_vms);

}  // namespace kvhost::qualify
