// `kvhost-agent run` on a copied fixture root for the fault tests: the
// daemon's inputs and outputs are damaged while it runs, and every probe of
// it is bounded, so a daemon whose loop froze fails the test instead of
// hanging it.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <functional>

#include "daemon_support.h"

namespace kvhost::it {

// The resident set of a process in KiB (VmRSS), 0 when it is gone.
inline uint64_t ResidentKib(pid_t pid) {
  const std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stoull(status.substr(at + 6));
}

// Public: the parameterised tests name its paths by member pointer.
class DaemonFaultTest : public ::testing::Test {
 public:
  static constexpr char kFixture[] = "hwloc-16amd64-4n4c-hugepages";  // 512 2Mi pages per node

  void SetUp() override {
    const char* fixtures = std::getenv("KVHOST_FIXTURES");
    ASSERT_NE(fixtures, nullptr) << "run under ctest";
    fs::copy(fs::path(fixtures) / kFixture, root(), fs::copy_options::recursive);
    fs::create_directories(scratch.path() / "features.d");
    port = FreeLoopbackPort();
    WriteText(config(),
              "refreshInterval: 200ms\nfeatureFile: " + features().string() + "\nnrtFile: " +
                  nrt().string() + "\napiListen: 127.0.0.1:" + std::to_string(port) +
                  "\nnodeName: test-node\ncontrolSocket: " + socket_path().string() + "\n");
  }

  fs::path root() const { return scratch.path() / "root"; }
  fs::path features() const { return scratch.path() / "features.d" / "kvhost-agent"; }
  fs::path nrt() const { return scratch.path() / "nrt.yaml"; }
  fs::path config() const { return scratch.path() / "config.yaml"; }
  fs::path state() const { return scratch.path() / "state"; }
  fs::path state_file() const { return state() / "state.pb"; }
  fs::path socket_path() const { return scratch.path() / "control.sock"; }
  fs::path pool(unsigned node) const {
    return root() /
           ("sys/devices/system/node/node" + std::to_string(node) + "/hugepages/hugepages-2048kB");
  }
  std::string connect_uri() const {
    const char* source = std::getenv("KVHOST_SOURCE_DIR");
    return "test://" + std::string(source ? source : ".") + "/tests/data/libvirt/pinner-node.xml";
  }

  std::unique_ptr<ChildProcess> Start() {
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{std::getenv("KVHOST_AGENT"), "--log-level", "info", "run",
                                 "--root", root().string(), "--config", config().string(),
                                 "--connect", connect_uri(), "--state-dir", state().string()},
        std::vector<std::string>{notify.Env()}, scratch.path() / "out", scratch.path() / "err");
    EXPECT_TRUE(WaitUntil([&] {
      return notify.Received("READY=1") || child->WaitFor(0ms).has_value();
    })) << Log();
    return child;
  }

  std::string Log() const { return ReadFile(scratch.path() / "err"); }
  bool Logged(const std::string& part, std::chrono::milliseconds within = 5s) const {
    return WaitUntil([&] { return Log().find(part) != std::string::npos; }, within);
  }
  // An "error: " line naming `part`, logged after the first `since` bytes of the log.
  bool LoggedError(const std::string& part, size_t since, std::chrono::milliseconds within = 5s) {
    return WaitUntil(
        [&] {
          const std::string log = Log();
          for (size_t at = log.find(part, since); at != npos; at = log.find(part, at + 1)) {
            const size_t line = log.rfind('\n', at);
            if (log.compare(line == npos ? 0 : line + 1, 7, "error: ") == 0) return true;
          }
          return false;
        },
        within);
  }
  bool Healthy() const { return HttpGetWithin(port, "/healthz").find("200 OK") != npos; }

  // The value of the first /metrics line that starts with `series` ("" if none).
  std::string Metric(const std::string& series) const {
    const std::string metrics = HttpGetWithin(port, "/metrics");
    const auto at = metrics.find("\n" + series + " ");
    if (at == npos) return "";
    const auto start = at + series.size() + 2;
    return metrics.substr(start, metrics.find('\n', start) - start);
  }

  RunResult Cli(const std::vector<std::string>& words) const {
    std::vector<std::string> argv{std::getenv("KVHOST_AGENT"), "--log-level", "info"};
    argv.insert(argv.end(), words.begin(), words.end());
    return RunProcess(argv, {}, 20s);
  }

  static constexpr auto npos = std::string::npos;
  TempDir scratch;
  NotifySocket notify{scratch.path() / "notify.sock"};
  unsigned short port = 0;
};

}  // namespace kvhost::it
