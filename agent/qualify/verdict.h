// The verdict of one qualification: oslat's numbers per CPU against the
// threshold, and the host's readiness facts, as one itemised result. Pure.
#pragma once

#include <string>

#include "agent/qualify/cpu_choice.h"
#include "agent/qualify/oslat_output.h"
#include "qualify.pb.h"
#include "realtime/readiness.h"

namespace kvhost::qualify {

struct QualifySettings {
  unsigned duration_seconds = 60;
  double threshold_us = 20;     // OpenShift's latency test default; pass = max strictly below
  std::string workload = "no";  // oslat --workload: no | memmove
  unsigned rtprio = 1;
};

// Exit codes of `kvhost-agent qualify` (README "Exit codes").
int ExitCodeOf(v1::QualifyOutcome outcome);

// The run's settings and CPUs, before anything is measured.
v1::QualificationRun NewRun(const QualifySettings& settings, const CpuChoice& choice);

// Fills `run` from oslat's output. An output that cannot be trusted (non-zero
// return_code, a measured CPU missing) makes the outcome ERROR with the reason
// naming `output_file`; never a pass.
void Judge(const OslatOutput& output, const std::string& output_file,
           const RealtimeReadiness& readiness, v1::QualificationRun& run);

// The run did not produce a measurement: ERROR or CANCELLED with why.
void Abandon(v1::QualifyOutcome outcome, const std::string& why, v1::QualificationRun& run);

}  // namespace kvhost::qualify
