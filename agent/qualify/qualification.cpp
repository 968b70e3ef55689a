#include "agent/qualify/qualification.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>

#include "agent/qualify/history.h"
#include "base/errors.h"
#include "base/regular_file.h"
#include "base/temp_dir.h"

namespace kvhost::qualify {
namespace {

std::string Rfc3339(std::time_t t) { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(t)); }

std::string Tail(const std::string& text) {
  return text.size() <= 400 ? text : "..." + text.substr(text.size() - 400);
}

std::string ExitProblem(const OslatExit& exit, const QualifyJob& job) {
  switch (exit.how) {
    case OslatExit::How::kNotStarted:
      return job.oslat.string() + " not started: " + exit.why;
    case OslatExit::How::kTimedOut:
      return job.oslat.string() + " " + exit.why;
    case OslatExit::How::kSignalled:
      return fmt::format("{} killed by signal {}: {}", job.oslat.string(), exit.status,
                         Tail(exit.output));
    case OslatExit::How::kExited:
      if (exit.status == 127)
        return job.oslat.string() + " could not be executed (apt install rt-tests)";
      if (exit.status != 0)
        return fmt::format("{} exited {}: {}", job.oslat.string(), exit.status, Tail(exit.output));
      return "";
    case OslatExit::How::kStopped:
      return exit.why;
  }
  return "";
}

// oslat's JSON of a run is a few KiB per CPU: more is not oslat's.
constexpr size_t kMaxOslatJsonBytes = 16 << 20;

// The JSON file when oslat wrote one, else its printed summary. Read guarded:
// the oslat run is an admin's setting, and what it leaves at the path (a FIFO,
// a symlink to /dev/zero) must not block or fill the daemon.
OslatOutput ReadOutput(const std::filesystem::path& json_file, const std::string& printed) {
  std::optional<std::string> bytes;
  try {
    bytes = ReadRegularFile(AT_FDCWD, json_file.c_str(), kMaxOslatJsonBytes);
  } catch (const FileReadError& e) {
    throw InputError(json_file, e.what());
  }
  if (!bytes) {
    try {
      return ParseOslatText(printed);
    } catch (const FormatError& e) {
      throw InputError(json_file,
                       std::string("missing, and oslat's summary unusable: ") + e.what());
    }
  }
  try {
    return ParseOslatJson(*bytes);
  } catch (const FormatError& e) {
    throw InputError(json_file, e.what());
  }
}

}  // namespace

v1::QualificationRun StartRun(const QualifyJob& job) {
  v1::QualificationRun run = NewRun(job.settings, job.choice);
  const std::time_t started = std::time(nullptr);
  run.set_started(Rfc3339(started));
  run.set_started_unix(started);
  return run;
}

OslatInvocation InvocationOf(const QualifyJob& job, const std::filesystem::path& json_file) {
  return {.oslat = job.oslat,
          .duration_seconds = job.settings.duration_seconds,
          .rtprio = job.settings.rtprio,
          .workload = job.settings.workload,
          .measured = job.choice.measured,
          .main_thread_cpu = job.choice.main_thread_cpu,
          .json_file = json_file,
          .margin = job.margin};
}

void RecordExit(const QualifyJob& job, const OslatExit& exit,
                const std::filesystem::path& json_file, const RealtimeReadiness& readiness,
                v1::QualificationRun& run) {
  if (const std::string problem = ExitProblem(exit, job); !problem.empty())
    return Abandon(exit.how == OslatExit::How::kStopped ? v1::QUALIFY_CANCELLED : v1::QUALIFY_ERROR,
                   problem, run);
  try {
    Judge(ReadOutput(json_file, exit.output), json_file.string(), readiness, run);
  } catch (const std::exception& e) {
    Abandon(v1::QUALIFY_ERROR, e.what(), run);
  }
}

void EndRun(const QualifyJob& job, v1::QualificationRun& run) {
  run.set_ended(Rfc3339(std::time(nullptr)));
  if (!job.state_dir.empty()) AppendRun(job.state_dir, run);
}

std::string PreemptionReason(const CpuSet& run_cpus, const CpuSet& held_by_vms) {
  if (!run_cpus.Intersects(held_by_vms)) return "";
  return "a VM needs CPUs " + (run_cpus & held_by_vms).ToList() + ": qualification cancelled";
}

v1::QualificationRun RunQualification(const QualifyJob& job, const RealtimeReadiness& readiness,
                                      const RunControl& control) {
  v1::QualificationRun run = StartRun(job);
  {
    // Only qualifying (isolated) CPUs are held: the others are no VM's to lose.
    std::unique_ptr<CpuHold> hold;
    try {
      if (!job.state_dir.empty() && job.choice.qualifying)
        hold = std::make_unique<CpuHold>(job.state_dir, job.choice.all());
      const TempDir dir(kOslatWorkDirPrefix);
      const auto json_file = dir.path() / "oslat.json";
      RecordExit(job, RunOslat(InvocationOf(job, json_file), control), json_file, readiness, run);
    } catch (const std::exception& e) {
      Abandon(v1::QUALIFY_ERROR, e.what(), run);
    }
  }
  EndRun(job, run);
  return run;
}

}  // namespace kvhost::qualify
