#include "agent/qualify/oslat_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "base/unique_fd.h"

namespace kvhost::qualify {
namespace {

using Clock = std::chrono::steady_clock;

// An owned child process group: killed and reaped unless it was reaped already.
class ChildGroup {
 public:
  explicit ChildGroup(pid_t pid) : pid_(pid) {}
  ChildGroup(const ChildGroup&) = delete;
  ChildGroup& operator=(const ChildGroup&) = delete;
  ~ChildGroup() {
    if (pid_ > 0) Kill(std::chrono::milliseconds(0));
  }
  // Returns the wait status once the child has exited, without blocking.
  std::optional<int> Poll() {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return status;
  }
  // SIGTERM to the whole group, SIGKILL after `grace`, then reaped.
  void Kill(std::chrono::milliseconds grace) {
    kill(-pid_, SIGTERM);
    const auto deadline = Clock::now() + grace;
    while (Clock::now() < deadline)
      if (Poll())
        return;
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

std::string ReadAvailable(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

[[noreturn]] void ExecChild(int out_fd, const std::vector<char*>& argv, pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the agent died before prctl took effect
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  const int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  // Signals the agent ignores (SIGPIPE) stay ignored across exec: restore them.
  signal(SIGPIPE, SIG_DFL);
  execv(argv[0], argv.data());
  _exit(127);
}

OslatExit Finish(int status, OslatExit exit) {
  if (WIFEXITED(status)) {
    exit.how = OslatExit::How::kExited;
    exit.status = WEXITSTATUS(status);
  } else {
    exit.how = OslatExit::How::kSignalled;
    exit.status = WTERMSIG(status);
  }
  return exit;
}

}  // namespace

std::vector<std::string> OslatArguments(const OslatInvocation& in) {
  return {in.oslat.string(),
          "--duration",
          std::to_string(in.duration_seconds),
          "--rtprio",
          std::to_string(in.rtprio),
          "--workload",
          in.workload,
          "--cpu-list",
          in.measured.ToList(),
          "--cpu-main-thread",
          std::to_string(in.main_thread_cpu),
          "--json=" + in.json_file.string()};
}

OslatExit RunOslat(const OslatInvocation& invocation, const RunControl& control) {
  OslatExit result;
  std::vector<std::string> args = OslatArguments(invocation);
  if (invocation.workload == "memmove") args.insert(args.end() - 1, {"--workload-mem", "4K"});
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.why = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    result.why = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) ExecChild(write_end.get(), argv, parent);
  setpgid(pid, pid);  // both sides set it: no window where a signal finds no group
  ChildGroup child(pid);
  write_end.Close();
  if (control.started) control.started(pid);
  const auto start = Clock::now();
  const auto limit = std::chrono::seconds(invocation.duration_seconds) + invocation.margin;
  auto last_progress = std::chrono::seconds(0);
  for (;;) {
    pollfd pfd{read_end.get(), POLLIN, 0};
    poll(&pfd, 1, 100);
    result.output += ReadAvailable(read_end.get());
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (const auto status = child.Poll()) {
      result.output += ReadAvailable(read_end.get());
      return Finish(*status, std::move(result));
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(result.elapsed);
    if (control.progress && seconds > last_progress) control.progress(last_progress = seconds);
    std::string stop = control.stop_reason ? control.stop_reason() : std::string();
    const bool timed_out = stop.empty() && result.elapsed > limit;
    if (timed_out) stop = "no result after " + std::to_string(limit.count()) + " s: killed";
    if (stop.empty()) continue;
    child.Kill(std::chrono::seconds(2));
    result.output += ReadAvailable(read_end.get());
    result.how = timed_out ? OslatExit::How::kTimedOut : OslatExit::How::kStopped;
    result.why = stop;
    return result;
  }
}

}  // namespace kvhost::qualify
