// One qualification end to end: hold the CPUs, run oslat, read its output,
// judge, keep the run in the history. The CLI and the daemon both call this;
// the daemon's stop_reason cancels a run when a VM needs its CPUs.
#pragma once

#include <filesystem>
#include <string>

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

// Pure: why a run on `run_cpus` must stop now that VMs hold `held_by_vms`
// (empty: it may go on). The daemon's stop_reason.
std::string PreemptionReason(const CpuSet& run_cpus, const CpuSet& held_by_vms);

}  // namespace kvhost::qualify
