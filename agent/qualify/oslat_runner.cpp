#include "agent/qualify/oslat_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "base/unique_fd.h"

namespace kvhost::qualify {
namespace {

using Clock = std::chrono::steady_clock;

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

OslatChild::OslatChild(const OslatInvocation& invocation)
    : start_(Clock::now()),
      limit_(std::chrono::seconds(invocation.duration_seconds) + invocation.margin) {
  std::vector<std::string> args = OslatArguments(invocation);
  if (invocation.workload == "memmove") args.insert(args.end() - 1, {"--workload-mem", "4K"});
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    exit_.why = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    exit_.why = std::string("fork: ") + std::strerror(errno);
    return;
  }
  if (pid == 0) ExecChild(write_end.get(), argv, parent);
  setpgid(pid, pid);  // both sides set it: no window where a signal finds no group
  pid_ = pid;
  output_ = std::move(read_end);
}

OslatChild::~OslatChild() {
  if (pid_ > 0) Kill(std::chrono::milliseconds(0), OslatExit::How::kStopped, "abandoned");
}

void OslatChild::Drain() {
  if (output_.valid()) exit_.output += ReadAvailable(output_.get());
  exit_.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_);
}

void OslatChild::Reap(int status) {
  pid_ = -1;
  Drain();
  if (WIFEXITED(status)) {
    exit_.how = OslatExit::How::kExited;
    exit_.status = WEXITSTATUS(status);
  } else {
    exit_.how = OslatExit::How::kSignalled;
    exit_.status = WTERMSIG(status);
  }
}

bool OslatChild::Poll() {
  if (pid_ <= 0) return true;
  Drain();
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  Reap(status);
  return true;
}

bool OslatChild::Overdue() const { return pid_ > 0 && Clock::now() - start_ > limit_; }

void OslatChild::Kill(std::chrono::milliseconds grace, OslatExit::How how, std::string why) {
  if (pid_ <= 0) return;
  kill(-pid_, SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline && !Poll())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    Reap(status);
  }
  exit_.how = how;
  exit_.why = std::move(why);
}

OslatExit RunOslat(const OslatInvocation& invocation, const RunControl& control) {
  OslatChild child(invocation);
  if (!child.running()) return child.exit();
  if (control.started) control.started(child.pid());
  auto last_progress = std::chrono::seconds(0);
  for (;;) {
    pollfd pfd{child.output_fd(), POLLIN, 0};
    poll(&pfd, 1, 100);
    if (child.Poll()) return child.exit();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(child.exit().elapsed);
    if (control.progress && seconds > last_progress) control.progress(last_progress = seconds);
    if (std::string stop = control.stop_reason ? control.stop_reason() : std::string();
        !stop.empty()) {
      child.Kill(std::chrono::seconds(2), OslatExit::How::kStopped, std::move(stop));
      return child.exit();
    }
    if (child.Overdue()) {
      child.Kill(std::chrono::seconds(2), OslatExit::How::kTimedOut,
                 "no result after " +
                     std::to_string(invocation.duration_seconds + invocation.margin.count()) +
                     " s: killed");
      return child.exit();
    }
  }
}

}  // namespace kvhost::qualify
