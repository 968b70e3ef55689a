// Damaged copies of the fixture roots and the agent run on them, shared by the
// bad-input tests. The agent runs under a deadline: a hang on input is a failure
// of the test, not of the whole ctest run.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/temp_dir.h"

extern char** environ;

namespace kvhost {

namespace fs = std::filesystem;

// Two machines with node directories, per-node hugepages and isolation files.
// Most cases use the first: it has a third of the files, and copying a root is
// what a case spends its time on.
inline constexpr const char* kIntelHugepages = "hwloc-32intel64-2p8co2t-hugepages";
inline constexpr const char* kPmemIsolated =
    "nri-server-pmem-isolated";  // CPU-less nodes, isolated CPUs

inline fs::path FixturesDir() {
  const char* dir = std::getenv("KVHOST_FIXTURES");
  return dir ? fs::path(dir) : fs::path();
}

// Tests damage a private copy: other tests read the shared fixtures in parallel.
inline fs::path CopyFixture(const std::string& machine, const TempDir& into) {
  const fs::path copy = into.path() / machine;
  fs::copy(FixturesDir() / machine, copy,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  return copy;
}

inline std::string ReadFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const fs::path& file, const std::string& content) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << "cannot write " << file;
}

struct CommandResult {
  int exit_code = -1;
  bool timed_out = false;  // killed after the deadline: it hung
  std::string err;
};

// Runs the agent with stdout discarded and stderr captured in an unlinked temp
// file; killed (timed_out) if it has not ended within `deadline`.
inline CommandResult RunAgent(const std::vector<std::string>& args,
                              std::chrono::seconds deadline = std::chrono::seconds(60)) {
  CommandResult result;
  const char* agent = std::getenv("KVHOST_AGENT");
  if (!agent) return result;
  char err_name[] = "/tmp/kvhost-bad-input-stderr-XXXXXX";
  const int err_fd = ::mkostemp(err_name, O_CLOEXEC);
  if (err_fd < 0) return result;
  ::unlink(err_name);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  std::vector<std::string> full{agent};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, agent, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == 0) {
    int status = 0;
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid || (done < 0 && errno != EINTR)) break;
      if (std::chrono::steady_clock::now() >= give_up) {
        ::kill(pid, SIGKILL);  // our own child, by its pid
        result.timed_out = true;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.err = ReadFile("/proc/self/fd/" + std::to_string(err_fd));
  }
  ::close(err_fd);
  return result;
}

}  // namespace kvhost
