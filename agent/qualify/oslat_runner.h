// Runs the real oslat as a supervised child: its own process group (a
// terminal's Ctrl-C reaches the agent, which stops the child itself), killed
// with the group on timeout, cancellation or when the agent dies
// (PR_SET_PDEATHSIG), and always reaped: no orphan, no SCHED_FIFO thread left.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/cpu_set.h"
#include "base/unique_fd.h"

namespace kvhost::qualify {

struct OslatInvocation {
  std::filesystem::path oslat = "/usr/bin/oslat";
  unsigned duration_seconds = 60;
  unsigned rtprio = 1;
  std::string workload = "no";
  CpuSet measured;
  unsigned main_thread_cpu = 0;
  std::filesystem::path json_file;
  // Past duration + this, the run counts as hung (oslat pre-heats for 1 s).
  std::chrono::seconds margin{30};
};

std::vector<std::string> OslatArguments(const OslatInvocation& invocation);

struct OslatExit {
  enum class How { kExited, kSignalled, kStopped, kTimedOut, kNotStarted };
  How how = How::kNotStarted;
  int status = 0;      // exit code or signal number
  std::string output;  // stdout and stderr, for the text fallback and errors
  std::string why;     // kStopped / kTimedOut / kNotStarted: in plain words
  std::chrono::milliseconds elapsed{0};
};

struct RunControl {
  // Polled about every 100 ms; a non-empty answer stops the run with that reason.
  std::function<std::string()> stop_reason;
  // Called once oslat runs, with its pid (= its process group).
  std::function<void(int pid)> started;
  // Called about once a second with the time elapsed.
  std::function<void(std::chrono::seconds elapsed)> progress;
};

// One oslat child, for a caller that waits on its own event loop (the
// daemon): nothing here blocks but Kill. The child is killed with its group
// and reaped when this goes, whatever happened before.
class OslatChild {
 public:
  // Forks and execs oslat; how == kNotStarted in exit() when it could not.
  explicit OslatChild(const OslatInvocation& invocation);
  ~OslatChild();
  OslatChild(const OslatChild&) = delete;
  OslatChild& operator=(const OslatChild&) = delete;

  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }
  int output_fd() const { return output_.get(); }
  // Reads what oslat printed so far; true once it has exited (then reaped and exit() says how).
  bool Poll();
  // Stops the run: SIGTERM to the group, SIGKILL after `grace`, reaped;
  // exit() then says kStopped (or kTimedOut) with `why`.
  void Kill(std::chrono::milliseconds grace, OslatExit::How how, std::string why);
  // Past duration + margin since the start.
  bool Overdue() const;
  const OslatExit& exit() const { return exit_; }

 private:
  void Drain();
  void Reap(int status);

  int pid_ = -1;
  UniqueFd output_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::seconds limit_;
  OslatExit exit_;
};

// Starts oslat and waits for it; the child is gone (reaped) on every return.
OslatExit RunOslat(const OslatInvocation& invocation, const RunControl& control);

}  // namespace kvhost::qualify
