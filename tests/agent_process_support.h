// The real kvhost-agent binary as a child process of a test: one-shot runs
// (pin, unpin, reconcile) whose exit and output are checked, and a long-lived
// `pin --watch` that a test starts, kills with -9 and restarts. Children are
// owned (RAII): a failed assertion never leaves an agent running that would
// keep pinning domains behind the next test's back.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/temp_dir.h"

extern char** environ;

namespace kvhost::it {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using kvhost::TempDir;  // base/temp_dir.h, also as it::TempDir

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls until done() holds or the timeout passes; returns done()'s last answer.
template <class Predicate>
bool WaitUntil(Predicate done, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

// How a child ended, from waitpid's status.
struct ProcessEnd {
  int status = 0;
  bool Exited(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
  bool KilledBy(int signal) const { return WIFSIGNALED(status) && WTERMSIG(status) == signal; }
  std::string Describe() const {
    if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
      return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
             strsignal(WTERMSIG(status)) + ")";
    return "status " + std::to_string(status);
  }
};

// A child process: argv[0] is the program path; env entries "NAME=value" are
// added to (or replace in) this process's environment. Output goes to files,
// not pipes, so a chatty child can never block on a full pipe nobody reads.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const fs::path& out, const fs::path& err) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // The test's own descriptors (its libvirt socket, ctest's pipes) must not
    // outlive it in a child, least of all in a daemon the harness restarts.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<std::string> environment = Environment(env);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    // Signals the test ignores (SIGPIPE) would stay ignored across exec: the
    // child starts with every default disposition, as under systemd.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    const int rc =
        posix_spawn(&pid_, argv.at(0).c_str(), &actions, &attr, args.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }
  // SIGTERM, as systemd stops the daemon; SIGKILL if it does not end.
  ~ChildProcess() {
    if (!end_) Stop(SIGTERM);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The end, if the child ended within the timeout (it is reaped then).
  std::optional<ProcessEnd> WaitFor(std::chrono::milliseconds timeout) {
    WaitUntil([&] { return Poll(); }, timeout);
    return end_;
  }
  // Sends signal, waits up to 15 s, then SIGKILL: the child is gone afterwards.
  ProcessEnd Stop(int signal) {
    if (!Poll()) kill(pid_, signal);
    if (!WaitFor(15s)) {
      kill(pid_, SIGKILL);
      WaitFor(15s);
    }
    if (!end_) throw std::runtime_error("pid " + std::to_string(pid_) + " survived SIGKILL");
    return *end_;
  }

 private:
  bool Poll() {
    if (end_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) end_ = ProcessEnd{status};
    return end_.has_value();
  }
  static std::vector<std::string> Environment(const std::vector<std::string>& extra) {
    std::vector<std::string> out;
    auto name_of = [](const std::string& e) { return e.substr(0, e.find('=')); };
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      bool replaced = name_of(entry) == "KVHOST_CRASH_AT";  // never inherited by accident
      for (const auto& x : extra) replaced = replaced || name_of(x) == name_of(entry);
      if (!replaced) out.push_back(entry);
    }
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  }

  pid_t pid_ = 0;
  std::optional<ProcessEnd> end_;
};

struct RunResult {
  ProcessEnd end;
  std::string out;
  std::string err;
  // For failure messages: how it ended and everything it said.
  std::string Describe() const {
    return end.Describe() + "\n--- stdout\n" + out + "--- stderr\n" + err;
  }
};

// Runs argv to its end (bounded: a hung agent is killed and reported).
inline RunResult RunProcess(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env = {},
                            std::chrono::milliseconds timeout = 60s) {
  TempDir scratch;
  ChildProcess child(argv, env, scratch.path() / "out", scratch.path() / "err");
  RunResult r;
  std::optional<ProcessEnd> end = child.WaitFor(timeout);
  r.end = end ? *end : child.Stop(SIGKILL);
  r.out = ReadFile(scratch.path() / "out");
  r.err = ReadFile(scratch.path() / "err");
  if (!end)
    r.err += "\n(test: killed after " + std::to_string(timeout.count()) + " ms without an end)\n";
  return r;
}

}  // namespace kvhost::it
