#include "agent/qualify/history.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "base/kept_file.h"
#include "base/regular_file.h"
#include "base/unique_fd.h"

namespace kvhost::qualify {
namespace {

// The agent's own small protobuf files (a history of kKeptRuns runs is a few
// KiB): absent is nullopt, and anything but a regular file (a FIFO would block
// the read for ever) is an error naming it.
std::optional<std::string> ReadSmallFile(const std::filesystem::path& file) {
  constexpr size_t kMaxBytes = 16u << 20;
  try {
    return ReadKeptFile(file.native(), kMaxBytes);  // the hold is reread at every refresh
  } catch (const FileReadError& e) {
    throw InputError(file, e.what());
  }
}

std::string Age(std::chrono::seconds age) {
  const long s = static_cast<long>(age.count());
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

}  // namespace

v1::QualificationHistory ReadHistory(const std::filesystem::path& state_dir) {
  v1::QualificationHistory history;
  const auto file = state_dir / kHistoryFile;
  const auto bytes = ReadSmallFile(file);
  if (bytes && !history.ParseFromString(*bytes))
    throw InputError(file, "not a kvhost.v1.QualificationHistory (damaged or truncated)");
  return history;
}

void AppendRun(const std::filesystem::path& state_dir, const v1::QualificationRun& run) {
  std::filesystem::create_directories(state_dir);
  const auto lock_path = state_dir / ".qualify-history.lock";
  UniqueFd lock(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid() || flock(lock.get(), LOCK_EX) != 0)
    throw FileWriteError(lock_path.string() + ": " + std::strerror(errno));
  v1::QualificationHistory history = ReadHistory(state_dir);
  *history.add_runs() = run;
  const int excess = history.runs_size() - kKeptRuns;
  if (excess > 0) history.mutable_runs()->DeleteSubrange(0, excess);
  WriteFileAtomically(state_dir / kHistoryFile, history.SerializeAsString(),
                      ".qualify-history.pb.tmp");
}

CpuHold::CpuHold(std::filesystem::path state_dir, const CpuSet& cpus)
    : file_(state_dir / kHoldFile) {
  std::filesystem::create_directories(state_dir);
  v1::QualificationHold hold;
  hold.set_cpus(cpus.ToList());
  hold.set_pid(static_cast<int32_t>(getpid()));
  WriteFileAtomically(file_, hold.SerializeAsString(), ".qualify-hold.pb.tmp");
}

CpuHold::~CpuHold() {
  std::error_code ignored;
  std::filesystem::remove(file_, ignored);
}

namespace {

struct LiveHold {
  CpuSet cpus;
  pid_t pid = 0;
};

std::optional<LiveHold> ReadHold(const std::filesystem::path& state_dir) {
  const auto file = state_dir / kHoldFile;
  const auto bytes = ReadSmallFile(file);
  if (!bytes) return std::nullopt;
  v1::QualificationHold hold;
  if (!hold.ParseFromString(*bytes) || hold.pid() <= 0)
    throw InputError(file, "not a kvhost.v1.QualificationHold (damaged or truncated)");
  if (kill(hold.pid(), 0) != 0 && errno == ESRCH) return std::nullopt;
  try {
    return LiveHold{ParseCpuList(hold.cpus()), static_cast<pid_t>(hold.pid())};
  } catch (const FormatError& e) {
    throw InputError(file, e.what());
  }
}

}  // namespace

std::optional<CpuSet> ReadLiveHold(const std::filesystem::path& state_dir) {
  const auto hold = ReadHold(state_dir);
  if (!hold) return std::nullopt;
  return hold->cpus;
}

std::optional<CpuSet> ReadOtherProcessHold(const std::filesystem::path& state_dir) {
  const auto hold = ReadHold(state_dir);
  if (!hold || hold->pid == getpid()) return std::nullopt;
  return hold->cpus;
}

const v1::QualificationRun* LastMeasuredRun(const v1::QualificationHistory& history) {
  for (auto run = history.runs().rbegin(); run != history.runs().rend(); ++run)
    if (run->cpus_size() > 0) return &*run;
  return nullptr;
}

int64_t LastQualifiedUnix(const v1::QualificationHistory& history) {
  int64_t last = 0;
  for (const auto& run : history.runs())
    if (run.outcome() == v1::QUALIFY_PASS && run.qualifying())
      last = std::max<int64_t>(last, run.started_unix());
  return last;
}

std::optional<std::string> QualificationBlocker(const v1::QualificationHistory& history,
                                                int64_t now_unix, std::chrono::seconds max_age) {
  for (const auto& run : history.runs())
    if (run.outcome() == v1::QUALIFY_PASS && run.qualifying() &&
        run.started_unix() >= now_unix - max_age.count())
      return std::nullopt;
  return "no passing qualification within " + Age(max_age);
}

}  // namespace kvhost::qualify
