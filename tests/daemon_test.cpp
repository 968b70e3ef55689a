// `kvhost-agent run` as a process, on a copied fixture root with libvirt's
// test:/// driver (pinner-node.xml: domains already running, which the daemon
// places and pins at its first reconcile). Real binary, real files, real
// sockets; promtool as in publish_metrics_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "agent/publish/feature_file.h"
#include "allocator_support.h"
#include "base/cpu_set.h"
#include "daemon_support.h"

namespace kvhost::it {
namespace {

constexpr char kFixture[] = "hwloc-16amd64-4n4c-hugepages";
constexpr char kLargest2Mi[] = "kvhost.cozystack.io/hugepages-2Mi.largest-free-block";

std::string SourceDir() {
  const char* dir = std::getenv("KVHOST_SOURCE_DIR");
  return dir ? dir : ".";
}

bool Ended(ChildProcess& child) { return child.WaitFor(std::chrono::milliseconds(0)).has_value(); }

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(testing::FixturesDir() / kFixture, root(), fs::copy_options::recursive);
    // 4 GiB of 2 MiB pages per node (as pinner_test's host): cx1.large fits.
    for (unsigned node = 0; node < 4; ++node) SetPool(node, 2048);
    fs::create_directories(scratch.path() / "features.d");
    port = FreeLoopbackPort();
    WriteConfig(port);
  }

  fs::path root() const { return scratch.path() / "root"; }
  void SetPool(unsigned node, unsigned free_pages, bool free_only = false) {
    const fs::path pool = root() / ("sys/devices/system/node/node" + std::to_string(node) +
                                    "/hugepages/hugepages-2048kB");
    if (!free_only) WriteText(pool / "nr_hugepages", "2048\n");
    WriteText(pool / "free_hugepages", std::to_string(free_pages) + "\n");
  }
  fs::path features() const { return scratch.path() / "features.d" / "kvhost-agent"; }
  fs::path config() const { return scratch.path() / "config.yaml"; }
  fs::path state() const { return scratch.path() / "state"; }

  void WriteConfig(unsigned short api_port) {
    WriteText(config(), "refreshInterval: 200ms\nfeatureFile: " + features().string() +
                            "\nnrtFile: " + (scratch.path() / "nrt.yaml").string() +
                            "\napiListen: 127.0.0.1:" + std::to_string(api_port) +
                            "\nnodeName: test-node\ncontrolSocket: " +
                            (scratch.path() / "control.sock").string() + "\n");
  }

  std::unique_ptr<ChildProcess> Start(std::vector<std::string> env = {}) {
    const std::string uri = "test://" + SourceDir() + "/tests/data/libvirt/pinner-node.xml";
    env.push_back(notify.Env());
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{std::getenv("KVHOST_AGENT"), "--log-level", "info", "run",
                                 "--root", root().string(), "--config", config().string(),
                                 "--connect", uri, "--state-dir", state().string()},
        env, scratch.path() / "out", scratch.path() / "err");
    EXPECT_TRUE(WaitUntil([&] { return notify.Received("READY=1") || Ended(*child); })) << Log();
    return child;
  }

  std::string Log() const { return ReadFile(scratch.path() / "err"); }

  publish::ParsedFeatureFile Labels() const {
    return publish::ParseFeatureFile(ReadFile(features()), publish::Clock::now());
  }

  TempDir scratch;
  NotifySocket notify{scratch.path() / "notify.sock"};
  unsigned short port = 0;
};

TEST_F(DaemonTest, PublishesEverythingAfterReadyAndStopsCleanlyOnSigterm) {
  auto daemon = Start();
  ASSERT_TRUE(notify.Received("READY=1")) << Log();
  // READY comes after the first publish: the files are there already.
  ASSERT_TRUE(fs::exists(features())) << Log();
  const auto labels = Labels();
  EXPECT_TRUE(labels.errors.empty());
  EXPECT_EQ(labels.labels.at("kvhost.cozystack.io/numa-nodes"), "4");
  EXPECT_EQ(labels.labels.at("kvhost.cozystack.io/placement-owner"), "agent");
  ASSERT_TRUE(labels.expiry.has_value());
  EXPECT_GT(*labels.expiry, publish::Clock::now());
  EXPECT_LT(*labels.expiry, publish::Clock::now() + std::chrono::seconds(62));
  for (const auto& entry : fs::directory_iterator(scratch.path() / "features.d"))
    EXPECT_EQ(entry.path().filename(), "kvhost-agent") << "no temp file left beside it";
  EXPECT_NE(ReadFile(scratch.path() / "nrt.yaml").find("name: test-node"), std::string::npos);

  EXPECT_NE(HttpGet(port, "/healthz").find("200 OK"), std::string::npos);
  EXPECT_NE(HttpGet(port, "/readyz").find("200 OK"), std::string::npos);
  const std::string report = HttpGet(port, "/v1/report");
  EXPECT_NE(report.find("\"nodeName\": \"test-node\""), std::string::npos) << report;
  EXPECT_NE(report.find("a0000000-0000-4000-8000-000000000001"), std::string::npos)
      << "kv-cx1 pinned at the first reconcile";
  const std::string metrics = HttpGet(port, "/metrics");
  const auto body = metrics.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << metrics;
  WriteText(scratch.path() / "metrics.txt", metrics.substr(body + 4));
  if (RunProcess({"/bin/sh", "-c", "command -v promtool"}).end.Exited(0)) {
    const auto check = RunProcess(
        {"/bin/sh", "-c", "promtool check metrics < " + (scratch.path() / "metrics.txt").string()});
    EXPECT_TRUE(check.end.Exited(0)) << check.Describe();
  }
  EXPECT_TRUE(WaitUntil([&] {
    for (const auto& m : notify.Messages())
      if (m.starts_with("STATUS=") && m.find("cx1.") != std::string::npos &&
          m.find(" pinned:") != std::string::npos && m.find("pinned:0") == std::string::npos)
        return true;
    return false;
  })) << "STATUS names the dedicated series and the pinned VMs";

  // Only housekeeping CPUs of the fixture (0,4,8,12: one core per node) that
  // exist here: never an isolated or guest CPU.
  CpuSet reserved;
  for (unsigned cpu : {0u, 4u, 8u, 12u}) reserved.Add(cpu);
  const fs::path tasks = fs::path("/proc") / std::to_string(daemon->pid()) / "task";
  unsigned threads = 0;
  for (const auto& task : fs::directory_iterator(tasks)) {
    const std::string status = ReadFile(task.path() / "status");
    const auto at = status.find("Cpus_allowed_list:");
    ASSERT_NE(at, std::string::npos);
    const auto line = status.substr(at + 18, status.find('\n', at) - at - 18);
    const CpuSet allowed = ParseCpuList(line.substr(line.find_first_not_of(" \t")));
    EXPECT_TRUE((allowed & reserved) == allowed) << task.path() << ": " << line;
    ++threads;
  }
  EXPECT_GE(threads, 2u) << "the main thread and libvirt's event loop";

  const auto stop_at = std::chrono::steady_clock::now();
  kill(daemon->pid(), SIGTERM);
  const auto end = daemon->WaitFor(std::chrono::seconds(2));
  ASSERT_TRUE(end.has_value()) << "still running 2 s after SIGTERM\n" << Log();
  EXPECT_TRUE(end->Exited(0)) << end->Describe() << "\n" << Log();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, std::chrono::seconds(2));
  EXPECT_TRUE(notify.Received("STOPPING=1"));
  EXPECT_FALSE(notify.Received("WATCHDOG=1")) << "no WatchdogSec, no pings";
}

// WatchdogSec=1s as systemd passes it (WATCHDOG_PID is left out: the child's
// pid is unknown before it starts, and sd_watchdog_enabled then takes the
// variable as meant for this process). Pings every 0.5 s, distinct from the
// 200 ms refresh, so a ping tied to the refresh or to the full period fails.
TEST_F(DaemonTest, PingsTheWatchdogAtHalfItsPeriod) {
  auto daemon = Start({"WATCHDOG_USEC=1000000"});
  ASSERT_TRUE(notify.Received("READY=1")) << Log();
  std::vector<std::chrono::steady_clock::time_point> pings;
  size_t seen = notify.Messages().size();
  const auto until = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < until) {
    const auto& messages = notify.Messages();
    for (; seen < messages.size(); ++seen)
      if (messages[seen] == "WATCHDOG=1") pings.push_back(std::chrono::steady_clock::now());
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(pings.size(), 5u) << "4 s at one ping per 0.5 s";
  EXPECT_LE(pings.size(), 10u) << "4 s at one ping per 0.5 s";
  std::vector<double> gaps;
  for (size_t i = 1; i < pings.size(); ++i)
    gaps.push_back(std::chrono::duration<double>(pings[i] - pings[i - 1]).count());
  std::sort(gaps.begin(), gaps.end());
  EXPECT_NEAR(gaps[gaps.size() / 2], 0.5, 0.15) << "median gap between pings, in seconds";
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0));
}

TEST_F(DaemonTest, LabelsFollowAHugepagePoolOfTheRootAtTheNextRefresh) {
  auto daemon = Start();
  ASSERT_TRUE(fs::exists(features())) << Log();
  const std::string before = Labels().labels.at(kLargest2Mi);
  EXPECT_EQ(before, "4Gi");
  for (unsigned node = 0; node < 4; ++node) SetPool(node, 100, true);
  EXPECT_TRUE(WaitUntil([&] { return Labels().labels[kLargest2Mi] == "200Mi"; }, 5s))
      << ReadFile(features()) << Log();
  EXPECT_EQ(Log().find("rediscovering the host"), std::string::npos)
      << "a refresh, not a rediscovery\n"
      << Log();
}

TEST_F(DaemonTest, PinnedVmsChangeTheLabelsAsTheCliComputesThem) {
  auto daemon = Start();
  ASSERT_TRUE(fs::exists(features())) << Log();
  // The CLI builds the same report from the state file the daemon wrote.
  auto cli = [&](const std::string& state_dir) {
    return RunProcess({std::getenv("KVHOST_AGENT"), "labels", "--root", root().string(), "--config",
                       config().string(), "--node-name", "test-node", "--state-dir", state_dir});
  };
  const auto with_vms = cli(state().string());
  const auto empty = cli((scratch.path() / "no-state").string());
  ASSERT_TRUE(with_vms.end.Exited(0)) << with_vms.Describe();
  const auto daemon_labels = Labels().labels;
  const auto cli_labels = publish::ParseFeatureFile(with_vms.out, publish::Clock::now()).labels;
  EXPECT_EQ(daemon_labels, cli_labels);
  EXPECT_NE(daemon_labels, publish::ParseFeatureFile(empty.out, publish::Clock::now()).labels)
      << "the pinned VMs take capacity";
}

TEST_F(DaemonTest, SighupWithABadConfigKeepsTheOldOneAndRuns) {
  auto daemon = Start();
  WriteText(config(), "refreshInterval: soon\n");
  kill(daemon->pid(), SIGHUP);
  EXPECT_TRUE(
      WaitUntil([&] { return Log().find("keeping the running config") != std::string::npos; }, 5s))
      << Log();
  EXPECT_NE(Log().find("refreshInterval"), std::string::npos) << "says why";
  EXPECT_FALSE(Ended(*daemon));
  EXPECT_NE(HttpGet(port, "/healthz").find("200 OK"), std::string::npos);
  // A good config with another API port is taken on the next SIGHUP.
  const unsigned short moved = FreeLoopbackPort();
  WriteConfig(moved);
  kill(daemon->pid(), SIGHUP);
  EXPECT_TRUE(
      WaitUntil([&] { return HttpGet(moved, "/readyz").find("200 OK") != std::string::npos; }, 5s))
      << Log();
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0));
}

RunResult Cli(const std::vector<std::string>& words) {
  std::vector<std::string> argv{std::getenv("KVHOST_AGENT"), "--log-level", "info"};
  argv.insert(argv.end(), words.begin(), words.end());
  return RunProcess(argv);
}

// A CLI call the daemon answers. When the answer never comes, the failure
// carries what the daemon logged and where each of its threads waits.
RunResult AskRunningDaemon(const ChildProcess& daemon, const std::function<std::string()>& log,
                           const std::vector<std::string>& words) {
  RunResult r = Cli(words);
  if (r.err.find("(test: killed after") == std::string::npos) return r;
  r.err += "--- daemon log\n" + log();
  const auto stacks =
      RunProcess({"/bin/sh", "-c",
                  "command -v gdb >/dev/null && gdb -p " + std::to_string(daemon.pid()) +
                      " -batch -ex 'thread apply all bt' 2>&1 | grep -E '^(#|Thread)'"},
                 {}, 30s);
  r.err += "--- daemon threads\n" + stacks.out;
  return r;
}

TEST_F(DaemonTest, CliPinUnpinAndReconcileGoThroughTheRunningDaemon) {
  auto daemon = Start();
  const fs::path socket = scratch.path() / "control.sock";
  ASSERT_TRUE(fs::is_socket(socket));
  EXPECT_EQ(fs::status(socket).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::string placed = ReadFile(features());
  // The daemon holds the state lock: acting directly would fail; through the
  // socket, the daemon's pinner acts and republishes.
  const auto daemon_log = [this] { return Log(); };
  const auto unpin =
      AskRunningDaemon(*daemon, daemon_log, {"unpin", "kv-cx1", "--config", config().string()});
  EXPECT_TRUE(unpin.end.Exited(0)) << unpin.Describe();
  EXPECT_EQ(unpin.out, "unpinned kv-cx1\n");
  EXPECT_NE(unpin.err.find("done by the running daemon"), std::string::npos) << unpin.err;
  EXPECT_NE(Labels().labels, publish::ParseFeatureFile(placed, publish::Clock::now()).labels)
      << "two dedicated cores came back: the labels say so before the CLI returns";
  const auto pin =
      AskRunningDaemon(*daemon, daemon_log, {"pin", "kv-cx1", "--config", config().string()});
  EXPECT_TRUE(pin.end.Exited(0)) << pin.Describe();
  EXPECT_NE(pin.out.find("pinned kv-cx1 as cx1"), std::string::npos) << pin.out;
  EXPECT_EQ(Labels().labels, publish::ParseFeatureFile(placed, publish::Clock::now()).labels);
  const auto reconcile =
      AskRunningDaemon(*daemon, daemon_log, {"reconcile", "--config", config().string()});
  EXPECT_NE(reconcile.out.find("kept "), std::string::npos) << reconcile.Describe();
  const auto missing =
      AskRunningDaemon(*daemon, daemon_log, {"unpin", "no-such-vm", "--config", config().string()});
  EXPECT_FALSE(missing.end.Exited(0));
  EXPECT_NE(missing.err.find("no-such-vm"), std::string::npos) << missing.Describe();
  EXPECT_FALSE(Ended(*daemon)) << "a failed request is an answer, not a crash";
  // Another state directory is not the daemon's: the CLI acts on it itself
  // (a CLI run against a test setup never reaches the host's daemon).
  const fs::path other = scratch.path() / "other-state";
  fs::create_directories(other);
  const auto direct =
      Cli({"reconcile", "--config", config().string(), "--root", root().string(), "--connect",
           "test://" + SourceDir() + "/tests/data/libvirt/pinner-node.xml", "--state-dir",
           other.string()});
  EXPECT_NE(direct.err.find("is not asked: this daemon keeps its allocations in"),
            std::string::npos)
      << direct.Describe();
  EXPECT_EQ(direct.err.find("done by the running daemon"), std::string::npos) << direct.err;
  EXPECT_TRUE(fs::exists(other / "state.pb")) << direct.Describe();
}

// The notify socket is read only now and then here, as a busy manager might:
// the kernel queues 10 datagrams (net.unix.max_dgram_qlen) and then blocks
// sd_notify. A STATUS line sent at every refresh (200 ms) filled that queue in
// 2 s and froze the event loop; repeats are not sent, so the daemon answers.
TEST_F(DaemonTest, AnUnreadNotifySocketDoesNotStallTheDaemon) {
  auto daemon = Start();
  ASSERT_TRUE(notify.Received("READY=1")) << Log();
  std::this_thread::sleep_for(3s);  // 15 refreshes, nothing read
  const auto reconcile = RunProcess(
      {std::getenv("KVHOST_AGENT"), "reconcile", "--config", config().string()}, {}, 20s);
  EXPECT_NE(reconcile.out.find("kept "), std::string::npos) << reconcile.Describe() << Log();
  size_t status_lines = 0;
  for (const auto& m : notify.Messages()) status_lines += m.rfind("STATUS=", 0) == 0;
  EXPECT_LE(status_lines, 2u) << "STATUS is repeated although nothing changed";
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0));
}

TEST_F(DaemonTest, ControlSocketRefusesBadFramesAndOtherUsers) {
  auto daemon = Start();
  const fs::path socket = scratch.path() / "control.sock";
  // A frame announcing 4 GiB: refused with the reason, the daemon goes on.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket.c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const char huge[] = {'\xff', '\xff', '\xff', '\xff', 'x'};
  ASSERT_EQ(send(fd, huge, sizeof huge, MSG_NOSIGNAL), 5);
  std::string answer;
  char buffer[1024];
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, n);
  close(fd);
  EXPECT_NE(answer.find("frame length 4294967295 is not within 1-16384 bytes"), std::string::npos)
      << answer;
  // Another user: the socket is 0600, and were it opened up, SO_PEERCRED
  // still refuses anyone but root (the test opens it up to prove that).
  if (RunProcess({"/bin/sh", "-c", "test -x /usr/bin/setpriv && test -x /usr/bin/python3"})
          .end.Exited(0)) {
    fs::permissions(scratch.path(), fs::perms::others_exec, fs::perm_options::add);
    fs::permissions(socket, fs::perms::all, fs::perm_options::add);
    const std::string client =
        "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
        "print(s.recv(4096))";  // refused before a byte of the request is read
    const auto other =
        RunProcess({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    "/usr/bin/python3", "-c", client, socket.string()});
    EXPECT_NE(other.out.find("uid 65534 may not pin (only uid 0)"), std::string::npos)
        << other.Describe();
  }
  EXPECT_FALSE(Ended(*daemon));
  EXPECT_NE(HttpGet(port, "/healthz").find("200 OK"), std::string::npos);
}

}  // namespace
}  // namespace kvhost::it
