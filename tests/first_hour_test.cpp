// An operator's first hour with `kvhost-agent run` and the one-shot commands,
// at the default log level: the daemon says once what it is and where it
// publishes, says a missing features.d once, names apiListen when its port is
// taken, is not ready while libvirt does not answer in agent mode; a one-shot
// command with libvirt unreachable or a mistyped --state-dir says so and
// changes nothing. Real binary, libvirt's test:/// driver, a copied fixture.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "allocator_support.h"
#include "daemon_support.h"

namespace kvhost::it {
namespace {

constexpr auto npos = std::string::npos;

bool Ended(ChildProcess& child) { return child.WaitFor(std::chrono::milliseconds(0)).has_value(); }

// A libvirt daemon that crashed: its socket is there, nothing accepts on it.
std::string RefusingSocketUri(const fs::path& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  close(fd);  // bound, never listened on, closed: connect() is refused
  return "qemu+unix:///system?socket=" + path.string();
}

class FirstHour : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(testing::FixturesDir() / "hwloc-16amd64-4n4c-hugepages", root(),
             fs::copy_options::recursive);
    for (const char* dir : {"state", "run"}) fs::create_directories(w() / dir);
    WriteText(config(), "refreshInterval: 1s\nfeatureFile: " + features().string() +
                            "\nnrtFile: " + (w() / "state/nrt.yaml").string() +
                            "\napiListen: 127.0.0.1:" + std::to_string(port) +
                            "\nnodeName: first-hour\ncontrolSocket: " +
                            (w() / "run/control.sock").string() + "\n");
  }

  fs::path w() const { return scratch.path(); }
  fs::path root() const { return w() / "root"; }
  fs::path config() const { return w() / "config.yaml"; }
  fs::path features() const { return w() / "nfd/kvhost-agent"; }
  std::string Log() const { return ReadFile(w() / "err"); }
  size_t Count(const std::string& part) const {
    const std::string log = Log();
    size_t n = 0;
    for (size_t at = log.find(part); at != npos; at = log.find(part, at + 1)) ++n;
    return n;
  }

  // No --log-level: what an operator's journal shows.
  std::unique_ptr<ChildProcess> Start(const std::string& uri = "test:///default") {
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{std::getenv("KVHOST_AGENT"), "run", "--root", root().string(),
                                 "--config", config().string(), "--connect", uri, "--state-dir",
                                 (w() / "state").string()},
        std::vector<std::string>{notify.Env()}, w() / "out", w() / "err");
    EXPECT_TRUE(WaitUntil([&] { return notify.Received("READY=1") || Ended(*child); })) << Log();
    return child;
  }
  // Lets `refreshes` refresh intervals pass.
  void Refreshes(int refreshes) const { std::this_thread::sleep_for(refreshes * 1s); }
  RunResult Agent(std::vector<std::string> words) const {
    words.insert(words.begin(), std::getenv("KVHOST_AGENT"));
    return RunProcess(words);
  }

  TempDir scratch;
  NotifySocket notify{scratch.path() / "notify.sock"};
  unsigned short port = FreeLoopbackPort();
};

TEST_F(FirstHour, TheDaemonSaysOnceWhatItIsWhoPlacesAndWhereItPublishes) {
  fs::create_directories(features().parent_path());
  auto daemon = Start();
  Refreshes(4);
  ASSERT_EQ(Count("ready on root"), 1u) << Log();
  const std::string version = Agent({"--version"}).out;
  const std::string number = version.substr(13, version.find(' ', 13) - 13);  // "kvhost-agent X"
  for (const std::string& part :
       {"info: kvhost-agent " + number + " (commit ", "ready on root " + root().string(),
        std::string("placement owner agent (auto: "), std::string("pins VMs of test:///default"),
        "labels to " + features().string(), "NRT to " + (w() / "state/nrt.yaml").string(),
        "API http://127.0.0.1:" + std::to_string(port), std::string("control socket "),
        std::string("refresh every 1 s")})
    EXPECT_NE(Log().find(part), npos) << part << "\n" << Log();
  // Nothing is said at every refresh: after four of them no line repeats.
  std::istringstream lines(Log());
  std::map<std::string, int> seen;
  for (std::string line; std::getline(lines, line);)
    EXPECT_EQ(++seen[line], 1) << "said again: " << line << "\n" << Log();
  EXPECT_FALSE(Ended(*daemon));
}

TEST_F(FirstHour, AMissingFeaturesDirectoryIsOneWarningUntilItAppears) {
  auto daemon = Start();
  Refreshes(3);
  EXPECT_EQ(Count("features.d directory " + features().parent_path().string() + " does not exist"),
            1u)
      << Log();
  EXPECT_EQ(Count("error: "), 0u) << Log();
  fs::create_directories(features().parent_path());
  EXPECT_TRUE(WaitUntil([&] { return fs::exists(features()); }, 5s)) << Log();
  EXPECT_TRUE(WaitUntil([&] { return Count("labels: written again") == 1; }, 5s)) << Log();
}

TEST_F(FirstHour, ATakenApiPortNamesApiListenAndTheAddress) {
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  listen(holder, 1);
  auto daemon = Start();
  const auto end = daemon->WaitFor(10s);
  close(holder);
  ASSERT_TRUE(end.has_value()) << Log();
  EXPECT_TRUE(end->Exited(1)) << end->Describe();
  EXPECT_NE(Log().find("apiListen 127.0.0.1:" + std::to_string(port) + ": bind"), npos) << Log();
  EXPECT_NE(Log().find("Address already in use"), npos) << Log();
  EXPECT_NE(Log().find("cannot start"), npos) << "with its version\n" << Log();
}

// Agent mode: what runs is libvirt's word (QEMU outlives a crashed libvirtd),
// so while it refuses nothing is a number.
TEST_F(FirstHour, AgentModeWithARefusingLibvirtIsNotReadyAndSaysWhy) {
  fs::create_directories(features().parent_path());
  const std::string uri = RefusingSocketUri(w() / "crashed-libvirtd.sock");
  auto daemon = Start(uri);
  const std::string readyz = HttpGet(port, "/readyz");
  EXPECT_NE(readyz.find("503"), npos) << readyz;
  EXPECT_NE(readyz.find("libvirt " + uri + " does not answer"), npos) << readyz;
  EXPECT_TRUE(notify.Received("STATUS=capacity unknown: libvirt " + uri)) << Log();
  const std::string labels = ReadFile(features());
  EXPECT_NE(labels.find("capacity-known=false"), npos) << labels;
  EXPECT_EQ(labels.find("capacity.cx1"), npos) << labels;
  Refreshes(3);
  EXPECT_EQ(Count("cannot connect to " + uri), 1u) << "retried quietly\n" << Log();
  EXPECT_FALSE(Ended(*daemon));
}

// No libvirt daemon at all (no socket: a KubeVirt host has none): nothing can
// have been started through it, so the host is counted as running nothing.
TEST_F(FirstHour, AgentModeWithoutAnyLibvirtDaemonIsReadyWithNothingRunning) {
  fs::create_directories(features().parent_path());
  const std::string uri = "qemu+unix:///system?socket=" + (w() / "absent.sock").string();
  auto daemon = Start(uri);
  const std::string readyz = HttpGet(port, "/readyz");
  EXPECT_NE(readyz.find("200 OK"), npos) << readyz << Log();
  EXPECT_EQ(ReadFile(features()).find("capacity-known=false"), npos) << ReadFile(features());
  EXPECT_NE(ReadFile(features()).find("capacity.u1"), npos) << ReadFile(features());
  EXPECT_NE(Log().find("no libvirt daemon at " + uri + " (no socket "), npos) << Log();
  EXPECT_FALSE(notify.Received("STATUS=capacity unknown")) << Log();
  Refreshes(2);
  EXPECT_EQ(Count("no libvirt daemon at"), 1u) << Log();
}

TEST_F(FirstHour, AOneShotCapacityWithLibvirtRefusingFailsWithoutPromisingARetry) {
  const RunResult r = Agent({"capacity", "--root", root().string(), "--connect",
                             RefusingSocketUri(w() / "crashed.sock")});
  EXPECT_TRUE(r.end.Exited(1)) << r.Describe();
  EXPECT_NE(r.err.find("no libvirt connection could be opened"), npos) << r.Describe();
  EXPECT_EQ(r.err.find("retry"), npos) << r.Describe();
  EXPECT_EQ(r.out, "") << "no number is printed";
}

TEST_F(FirstHour, AMistypedStateDirIsNeitherReadSilentlyNorCreated) {
  const fs::path typo = w() / "stat";
  const RunResult reconcile =
      Agent({"reconcile", "--root", root().string(), "--config", config().string(), "--connect",
             "test:///default", "--state-dir", typo.string()});
  EXPECT_TRUE(reconcile.end.Exited(1)) << reconcile.Describe();
  EXPECT_NE(reconcile.err.find("--state-dir " + typo.string() + " does not exist (did you mean '" +
                               (w() / "state").string() + "'?)"),
            npos)
      << reconcile.Describe();
  EXPECT_FALSE(fs::exists(typo)) << "created by a typo";
  const RunResult capacity =
      Agent({"capacity", "--root", root().string(), "--state-dir", typo.string()});
  EXPECT_TRUE(capacity.end.Exited(0)) << capacity.Describe();
  EXPECT_NE(capacity.err.find("does not exist (did you mean"), npos) << capacity.Describe();
  EXPECT_NE(capacity.err.find("read as an empty state"), npos) << capacity.Describe();
  EXPECT_FALSE(fs::exists(typo));
}

}  // namespace
}  // namespace kvhost::it
