// Qualification runs kept in the state dir: <dir>/qualify-history.pb (the
// last kKeptRuns, oldest first) and, while a run holds CPUs,
// <dir>/qualify-hold.pb so capacity leaves them alone. Files are replaced atomically.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "base/cpu_set.h"
#include "qualify.pb.h"

namespace kvhost::qualify {

inline constexpr int kKeptRuns = 20;
inline constexpr const char* kHistoryFile = "qualify-history.pb";
inline constexpr const char* kHoldFile = "qualify-hold.pb";

// Absent file: no runs. Throws InputError naming the file when it is damaged.
v1::QualificationHistory ReadHistory(const std::filesystem::path& state_dir);

// Appends `run`, keeps the last kKeptRuns; serialised with other writers by
// an flock on <dir>/.qualify-history.lock. Throws FileWriteError.
void AppendRun(const std::filesystem::path& state_dir, const v1::QualificationRun& run);

// Records that this process holds `cpus` for a run, until destroyed.
class CpuHold {
 public:
  CpuHold(std::filesystem::path state_dir, const CpuSet& cpus);
  ~CpuHold();
  CpuHold(const CpuHold&) = delete;
  CpuHold& operator=(const CpuHold&) = delete;

 private:
  std::filesystem::path file_;
};

// The CPUs a running qualification holds. A hold whose process is gone (a
// crash skipped the cleanup) is stale and ignored; a damaged file throws InputError.
std::optional<CpuSet> ReadLiveHold(const std::filesystem::path& state_dir);
// The same, but nullopt for a hold this process recorded: a daemon accounts
// for its own run's CPUs itself (its pinner's loan).
std::optional<CpuSet> ReadOtherProcessHold(const std::filesystem::path& state_dir);

// Pure, for the labels and metrics: the last run that measured (pass, warn or
// fail; nullptr when none) and the start of the last qualifying pass (0: never).
const v1::QualificationRun* LastMeasuredRun(const v1::QualificationHistory& history);
int64_t LastQualifiedUnix(const v1::QualificationHistory& history);

// Pure: the blocker "no passing qualification within <age>", or nothing when
// a qualifying run passed at or after now - max_age.
std::optional<std::string> QualificationBlocker(const v1::QualificationHistory& history,
                                                int64_t now_unix, std::chrono::seconds max_age);

}  // namespace kvhost::qualify
