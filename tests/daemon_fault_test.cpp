// `kvhost-agent run` when what it is asked cannot be done: a SIGHUP whose
// settings cannot be applied (a port taken, a file name NFD ignores, a control
// socket that cannot be made) and a state file that cannot be saved while a
// refresh moves the guests. Real binary, real sockets, libvirt's test:///
// driver on a copied fixture root, as daemon_test.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "agent/publish/feature_file.h"
#include "allocator_support.h"
#include "daemon_support.h"

namespace kvhost::it {
namespace {

constexpr char kLargest2Mi[] = "kvhost.cozystack.io/hugepages-2Mi.largest-free-block";

constexpr auto npos = std::string::npos;

bool Ended(ChildProcess& child) { return child.WaitFor(std::chrono::milliseconds(0)).has_value(); }
bool Serves(unsigned short port) { return HttpGet(port, "/readyz").find("200 OK") != npos; }

// The report's `degraded` (the JSON mapping prints it empty when all is well).
std::string Degraded(const std::string& report) {
  const std::string key = "\"degraded\": \"";
  const auto at = report.find(key);
  if (at == npos) return "";
  const auto from = at + key.size();
  return report.substr(from, report.find('"', from) - from);
}

// A loopback port someone else listens on, for as long as this lives.
class TakenPort {
 public:
  TakenPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(fd_, 1);
    socklen_t length = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() { Release(); }
  TakenPort(const TakenPort&) = delete;
  TakenPort& operator=(const TakenPort&) = delete;
  unsigned short port() const { return port_; }
  void Release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  unsigned short port_ = 0;
};

// What the config names; each test changes one or two of them.
struct Settings {
  unsigned short api_port = 0;
  std::string feature_file;
  fs::path control_socket;
  std::string refresh = "1s";
};

class DaemonFault : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(testing::FixturesDir() / "hwloc-16amd64-4n4c-hugepages", root(),
             fs::copy_options::recursive);
    for (unsigned node = 0; node < 4; ++node) SetFreePages(node, 512, true);
    for (const char* dir : {"nfd", "state", "run"}) fs::create_directories(w() / dir);
    settings = {.api_port = FreeLoopbackPort(),
                .feature_file = (w() / "nfd/kvhost-agent").string(),
                .control_socket = w() / "run/control.sock"};
    WriteConfig(settings);
  }

  fs::path w() const { return scratch.path(); }
  fs::path root() const { return w() / "root"; }
  fs::path config() const { return w() / "config.yaml"; }
  fs::path nrt() const { return w() / "state/nrt.yaml"; }
  void SetFreePages(unsigned node, unsigned pages, bool pool_too = false) {
    const fs::path pool = root() / ("sys/devices/system/node/node" + std::to_string(node) +
                                    "/hugepages/hugepages-2048kB");
    if (pool_too) WriteText(pool / "nr_hugepages", std::to_string(pages) + "\n");
    WriteText(pool / "free_hugepages", std::to_string(pages) + "\n");
  }

  void WriteConfig(const Settings& s) {
    WriteText(config(),
              "refreshInterval: " + s.refresh + "\nfeatureFile: " + s.feature_file + "\nnrtFile: " +
                  nrt().string() + "\napiListen: 127.0.0.1:" + std::to_string(s.api_port) +
                  "\nnodeName: test-node\ncontrolSocket: " + s.control_socket.string() + "\n");
  }

  std::unique_ptr<ChildProcess> Start(const fs::path& state_dir) {
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{std::getenv("KVHOST_AGENT"), "--log-level", "info", "run",
                                 "--root", root().string(), "--config", config().string(),
                                 "--connect", "test:///default", "--state-dir", state_dir.string()},
        std::vector<std::string>{notify.Env()}, w() / "out", w() / "err");
    EXPECT_TRUE(WaitUntil([&] { return notify.Received("READY=1") || Ended(*child); })) << Log();
    return child;
  }

  std::string Log() const { return ReadFile(w() / "err"); }
  bool Logged(const std::string& part) const { return Log().find(part) != npos; }
  std::string Largest2Mi() const {
    const std::string text = ReadFile(settings.feature_file);
    return publish::ParseFeatureFile(text, publish::Clock::now()).labels[kLargest2Mi];
  }
  // Every publisher still follows the host: a pool change reaches the labels,
  // the NodeResourceTopology file and the API at the next refresh.
  void ExpectPublishersFollowAPoolChange(unsigned short api_port) {
    const std::string nrt_before = ReadFile(nrt());
    const std::string report_before = HttpGet(api_port, "/v1/report");
    for (unsigned node = 0; node < 4; ++node) SetFreePages(node, 100);
    EXPECT_TRUE(WaitUntil([&] { return Largest2Mi() == "200Mi"; }, 10s))
        << ReadFile(settings.feature_file) << Log();
    EXPECT_TRUE(WaitUntil([&] { return ReadFile(nrt()) != nrt_before; }, 10s)) << Log();
    EXPECT_NE(HttpGet(api_port, "/v1/report"), report_before);
  }
  RunResult Reconcile() const {
    return RunProcess({std::getenv("KVHOST_AGENT"), "--log-level", "info", "reconcile", "--config",
                       config().string()});
  }

  TempDir scratch;
  NotifySocket notify{scratch.path() / "notify.sock"};
  Settings settings;
};

TEST_F(DaemonFault, AReloadWhoseApiPortIsTakenKeepsEveryPublisherRunning) {
  auto daemon = Start(w() / "state");
  const unsigned short first = settings.api_port;
  TakenPort taken;
  WriteConfig({.api_port = taken.port(),
               .feature_file = settings.feature_file,
               .control_socket = settings.control_socket});
  kill(daemon->pid(), SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return Logged("keeping the running config"); }, 5s)) << Log();
  EXPECT_TRUE(Logged("Address already in use")) << Log();
  EXPECT_TRUE(Serves(first)) << "the old listener keeps serving\n" << Log();
  ExpectPublishersFollowAPoolChange(first);
  // The config stayed the old one, so the same SIGHUP is tried again once the port is free.
  taken.Release();
  kill(daemon->pid(), SIGHUP);
  EXPECT_TRUE(WaitUntil([&] { return Serves(taken.port()); }, 5s)) << Log();
  EXPECT_TRUE(WaitUntil([&] { return !Serves(first); }, 5s)) << "the old port is let go";
  EXPECT_FALSE(Ended(*daemon));
}

TEST_F(DaemonFault, AReloadWhoseFeatureFileNfdWouldIgnoreKeepsEveryPublisherRunning) {
  auto daemon = Start(w() / "state");
  const std::string features = settings.feature_file;
  WriteConfig({.api_port = settings.api_port,
               .feature_file = features + "/",
               .control_socket = settings.control_socket});
  kill(daemon->pid(), SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return Logged("keeping the running config"); }, 5s)) << Log();
  EXPECT_TRUE(Logged(features + "/")) << "names the file\n" << Log();
  EXPECT_TRUE(Serves(settings.api_port)) << Log();
  ExpectPublishersFollowAPoolChange(settings.api_port);
}

TEST_F(DaemonFault, AReloadMovesTheControlSocket) {
  auto daemon = Start(w() / "state");
  const fs::path moved = w() / "run2/control.sock";
  WriteConfig({.api_port = settings.api_port,
               .feature_file = settings.feature_file,
               .control_socket = moved});
  kill(daemon->pid(), SIGHUP);
  EXPECT_TRUE(WaitUntil([&] { return fs::is_socket(moved); }, 5s)) << Log();
  EXPECT_FALSE(fs::exists(settings.control_socket)) << "the old socket is closed and removed";
  const RunResult r = Reconcile();
  EXPECT_NE(r.err.find("done by the running daemon"), npos) << r.Describe() << Log();
  EXPECT_TRUE(Serves(settings.api_port)) << "the API listener was kept";
}

// All or nothing: a control socket that cannot be made keeps the API where it was too.
TEST_F(DaemonFault, AReloadWhoseControlSocketCannotBeMadeChangesNothing) {
  auto daemon = Start(w() / "state");
  WriteText(w() / "a-file", "");
  const unsigned short next_port = FreeLoopbackPort();
  WriteConfig({.api_port = next_port,
               .feature_file = settings.feature_file,
               .control_socket = w() / "a-file/control.sock"});
  kill(daemon->pid(), SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return Logged("keeping the running config"); }, 5s)) << Log();
  EXPECT_TRUE(Logged((w() / "a-file/control.sock").string())) << Log();
  EXPECT_TRUE(Serves(settings.api_port)) << Log();
  EXPECT_FALSE(Serves(next_port)) << "the new API port was not taken up";
  ASSERT_TRUE(fs::is_socket(settings.control_socket));
  WriteConfig(settings);  // the CLI finds the running daemon where it listens
  const RunResult r = Reconcile();
  EXPECT_NE(r.err.find("done by the running daemon"), npos) << r.Describe() << Log();
}

// Memory hotplug changes no CPU: the node's new memory reaches the
// NodeResourceTopology zone after a rediscovery the log names.
TEST_F(DaemonFault, ANodeGainingMemoryWithoutACpuChangeIsRediscoveredAndPublished) {
  auto daemon = Start(w() / "state");
  const fs::path meminfo = root() / "sys/devices/system/node/node1/meminfo";
  std::string text = ReadFile(meminfo);
  ASSERT_NE(text.find(" 8388608 kB"), npos) << text;
  ASSERT_EQ(ReadFile(nrt()).find("16Gi"), npos);
  text.replace(text.find(" 8388608 kB"), 11, " 16777216 kB");
  WriteText(meminfo, text);
  EXPECT_TRUE(WaitUntil([&] { return Logged("node1 memory 16777216 kB (was 8388608 kB)"); }, 10s))
      << Log();
  EXPECT_TRUE(Logged("rediscovering the host")) << Log();
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(nrt()).find("16Gi") != npos; }, 10s))
      << ReadFile(nrt());
  EXPECT_FALSE(Ended(*daemon));
}

// A reload that shortens refreshInterval holds at once, not after the old
// interval ran out (found by the e2e boot: a hotplug in that window was missed).
TEST_F(DaemonFault, AReloadedShorterRefreshIntervalHoldsAtOnce) {
  settings.refresh = "10m";
  WriteConfig(settings);
  auto daemon = Start(w() / "state");
  settings.refresh = "1s";
  WriteConfig(settings);
  kill(daemon->pid(), SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return Logged("SIGHUP: reloading"); }, 5s)) << Log();
  const std::string before = Largest2Mi();
  for (unsigned node = 0; node < 4; ++node) SetFreePages(node, 100);
  EXPECT_TRUE(WaitUntil([&] { return Largest2Mi() == "200Mi"; }, 5s))
      << before << " -> " << Largest2Mi() << "\n"
      << Log();
}

// A CPU taken offline: the daemon rediscovers and the report has the new list.
TEST_F(DaemonFault, ACpuTakenOfflineIsRediscoveredAndPublished) {
  auto daemon = Start(w() / "state");
  WriteText(root() / "sys/devices/system/cpu/online", "0-14\n");
  WriteText(root() / "sys/devices/system/cpu/cpu15/online", "0\n");
  EXPECT_TRUE(WaitUntil([&] { return Logged("online CPUs 0-14 (were 0-15): rediscovering"); }, 10s))
      << Log();
  EXPECT_TRUE(WaitUntil(
      [&] {
        return HttpGet(settings.api_port, "/v1/report").find("\"onlineCpus\": \"0-14\"") != npos;
      },
      10s))
      << HttpGet(settings.api_port, "/v1/report").substr(0, 2000) << Log();
}

// A tmpfs of 64 KiB for the state dir, filled on demand (mounting needs root).
class SmallStateFs {
 public:
  explicit SmallStateFs(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=64k") == 0;
  }
  ~SmallStateFs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallStateFs(const SmallStateFs&) = delete;
  SmallStateFs& operator=(const SmallStateFs&) = delete;
  bool mounted() const { return mounted_; }
  void Fill() const {
    std::FILE* f = std::fopen((dir_ / "filler").c_str(), "w");
    ASSERT_NE(f, nullptr);
    while (std::fputc('x', f) != EOF && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  void Empty() const { fs::remove(dir_ / "filler"); }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

std::string MetricLine(unsigned short port, const std::string& family) {
  const std::string metrics = HttpGet(port, "/metrics");
  const auto at = metrics.find("\n" + family + " ");
  return at == npos ? "" : metrics.substr(at + 1, metrics.find('\n', at + 1) - at - 1);
}

// Isolating CPUs 8-15 moves the shared guest off them; the disk is full, so
// the rebuild cannot save and re-pin. The daemon says so (audit, report,
// STATUS) while it retries, and re-pins by itself once space returns.
TEST_F(DaemonFault, ARebuildThatCannotSaveIsRetriedUntilTheGuestIsPinnedAsAllocated) {
  SmallStateFs state(w() / "statefs");
  if (!state.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
  auto daemon = Start(w() / "statefs");
  const unsigned short port = settings.api_port;
  ASSERT_EQ(MetricLine(port, "kvhost_audit_violations"), "kvhost_audit_violations 0") << Log();
  state.Fill();
  WriteText(root() / "sys/devices/system/cpu/isolated", "8-15\n");
  ASSERT_TRUE(WaitUntil([&] { return Logged("No space left on device"); }, 10s)) << Log();
  EXPECT_TRUE(WaitUntil(
      [&] { return MetricLine(port, "kvhost_audit_violations") == "kvhost_audit_violations 1"; },
      10s))
      << MetricLine(port, "kvhost_audit_violations") << "\n"
      << Log();
  const std::string report = HttpGet(port, "/v1/report");
  EXPECT_NE(Degraded(report).find("No space left on device"), npos) << report;
  EXPECT_TRUE(Serves(port)) << "degraded, still ready: the capacity is known";
  EXPECT_TRUE(WaitUntil([&] { return notify.Received("degraded"); }, 5s)) << "STATUS says it";

  state.Empty();
  EXPECT_TRUE(WaitUntil(
      [&] { return MetricLine(port, "kvhost_audit_violations") == "kvhost_audit_violations 0"; },
      10s))
      << Log();
  EXPECT_TRUE(WaitUntil([&] { return Degraded(HttpGet(port, "/v1/report")).empty(); }, 5s))
      << HttpGet(port, "/v1/report");
  const RunResult r = Reconcile();
  EXPECT_NE(r.out.find("re-pinned 0\n"), npos) << "the daemon re-pinned it already\n"
                                               << r.Describe() << Log();
  EXPECT_FALSE(Ended(*daemon));
}

}  // namespace
}  // namespace kvhost::it
