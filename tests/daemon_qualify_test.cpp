// The daemon's scheduled qualification (qualifyInterval) as a process: a
// copied fixture root whose only isolated CPU is 1 (this machine has CPUs 0
// and 1, so the real oslat measures the CPU the fixture names), libvirt's
// test:/// driver (pinner-node.xml), the real oslat for 2 s, and the CLI's
// pin through the control socket to make a VM need the run's CPU.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>

#include "agent/publish/feature_file.h"
#include "agent/qualify/history.h"
#include "allocator_support.h"
#include "base/cpu_set.h"
#include "daemon_support.h"

namespace kvhost::it {
namespace {

using namespace std::chrono_literals;

constexpr char kFixture[] = "hwloc-16amd64-4n4c-hugepages";
constexpr char kPrefix[] = "kvhost.cozystack.io/";

std::string SourceDir() {
  const char* dir = std::getenv("KVHOST_SOURCE_DIR");
  return dir ? dir : ".";
}

// The oslat children of `parent`, from /proc.
std::vector<int> OslatChildrenOf(int parent) {
  std::vector<int> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadFile(entry.path() / "stat");
    if (stat.find("(oslat)") == std::string::npos) continue;
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string state;
    int ppid = 0;
    if (rest >> state >> ppid && ppid == parent) found.push_back(std::stoi(name));
  }
  return found;
}

bool ProcessExists(int pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

class DaemonQualifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(testing::FixturesDir() / kFixture, root(), fs::copy_options::recursive);
    for (unsigned node = 0; node < 4; ++node) {
      const fs::path pool = root() / ("sys/devices/system/node/node" + std::to_string(node) +
                                      "/hugepages/hugepages-2048kB");
      WriteText(pool / "nr_hugepages", "2048\n");
      WriteText(pool / "free_hugepages", "2048\n");
    }
    WriteText(root() / "sys/devices/system/cpu/isolated", "1\n");
    port = FreeLoopbackPort();
  }

  fs::path root() const { return scratch.path() / "root"; }
  fs::path features() const { return scratch.path() / "features"; }
  fs::path config() const { return scratch.path() / "config.yaml"; }
  fs::path state() const { return scratch.path() / "state"; }

  void WriteConfig(const std::string& dedicated_cpus, const std::string& interval = "1h") {
    WriteText(config(), "refreshInterval: 200ms\nfeatureFile: " + features().string() +
                            "\nnrtFile: \"\"\napiListen: 127.0.0.1:" + std::to_string(port) +
                            "\nnodeName: test-node\ncontrolSocket: " +
                            (scratch.path() / "control.sock").string() + "\ndedicatedCpus: \"" +
                            dedicated_cpus + "\"\nrequireQualification: true\nqualifyInterval: " +
                            interval + "\nqualifyDuration: 2s\nqualifyThresholdUs: 10000\n");
  }

  std::unique_ptr<ChildProcess> Start() {
    const std::string uri = "test://" + SourceDir() + "/tests/data/libvirt/pinner-node.xml";
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{std::getenv("KVHOST_AGENT"), "--log-level", "info", "run",
                                 "--root", root().string(), "--config", config().string(),
                                 "--connect", uri, "--state-dir", state().string()},
        std::vector<std::string>{notify.Env()}, scratch.path() / "out", scratch.path() / "err");
    EXPECT_TRUE(WaitUntil([&] { return notify.Received("READY=1"); })) << Log();
    return child;
  }

  std::string Log() const { return ReadFile(scratch.path() / "err"); }
  std::map<std::string, std::string> Labels() const {
    return publish::ParseFeatureFile(ReadFile(features()), publish::Clock::now()).labels;
  }
  // Also drains the notify socket, as systemd would: a full queue blocks the daemon's sd_notify.
  v1::QualificationHistory History() {
    notify.Messages();
    return qualify::ReadHistory(state());
  }
  RunResult Cli(const std::vector<std::string>& words) const {
    std::vector<std::string> argv{std::getenv("KVHOST_AGENT"), "--log-level", "info"};
    argv.insert(argv.end(), words.begin(), words.end());
    argv.insert(argv.end(), {"--config", config().string(), "--root", root().string()});
    return RunProcess(argv);
  }

  TempDir scratch;
  NotifySocket notify{scratch.path() / "notify.sock"};
  unsigned short port = 0;
};

TEST_F(DaemonQualifyTest, AScheduledRunOfRealOslatEndsInTheHistoryTheLabelsAndTheMetrics) {
  WriteConfig("1");  // CPU 1 only: kv-cx1 does not fit, so the run finds it free
  auto daemon = Start();
  ASSERT_TRUE(WaitUntil([&] { return History().runs_size() == 1; }, 60s)) << Log();
  const v1::QualificationRun run = History().runs(0);
  EXPECT_TRUE(run.outcome() == v1::QUALIFY_PASS || run.outcome() == v1::QUALIFY_WARN ||
              run.outcome() == v1::QUALIFY_FAIL)
      << "measured, not " << run.outcome() << ": " << run.error() << "\n"
      << Log();
  ASSERT_EQ(run.cpus_size(), 1);
  EXPECT_EQ(run.cpus(0).cpu(), 1u);
  EXPECT_GT(run.max_latency_us(), 0);
  EXPECT_EQ(run.duration_seconds(), 2u);
  const std::string max_us = std::to_string(static_cast<uint64_t>(std::ceil(run.max_latency_us())));
  EXPECT_TRUE(
      WaitUntil([&] { return Labels()[std::string(kPrefix) + "rt-max-latency-us"] == max_us; }, 5s))
      << ReadFile(features()) << Log();
  const std::string metrics = HttpGet(port, "/metrics");
  EXPECT_NE(metrics.find("kvhost_rt_max_latency_seconds{cpu=\"1\"}"), std::string::npos) << metrics;
  // requireQualification: a pass opens rt1; anything else keeps it shut, label and capacity alike.
  const bool passed = run.outcome() == v1::QUALIFY_PASS && run.qualifying();
  EXPECT_EQ(Labels()[std::string(kPrefix) + "realtime"], "false") << "the fixture is not RT-ready";
  EXPECT_EQ(Labels()[std::string(kPrefix) + "capacity.rt1.medium"], "0");
  EXPECT_EQ(
      HttpGet(port, "/v1/report").find("no passing qualification within 7d") == std::string::npos,
      passed)
      << "the gate's blocker is published while no pass opens it";
  // The CLI reads the same history: its labels equal the daemon's.
  const auto cli = Cli({"labels", "--node-name", "test-node", "--state-dir", state().string()});
  ASSERT_TRUE(cli.end.Exited(0)) << cli.Describe();
  EXPECT_EQ(publish::ParseFeatureFile(cli.out, publish::Clock::now()).labels, Labels());
  EXPECT_TRUE(OslatChildrenOf(daemon->pid()).empty());
  EXPECT_FALSE(fs::exists(state() / qualify::kHoldFile)) << "the hold ends with the run";
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(History().runs_size(), 1) << "the next run waits for qualifyInterval";
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0));
}

TEST_F(DaemonQualifyTest, AVmPlacedOnTheRunsCpuCancelsItFirstAndTheRunIsKeptAsCancelled) {
  WriteConfig("1-3");  // kv-cx1 (cx1.large: 2 vCPUs + the emulator) fits only on 1-3
  auto daemon = Start();
  EXPECT_TRUE(History().runs().empty());
  EXPECT_NE(Log().find("qualification waits: every isolated CPU (1) is held by a VM"),
            std::string::npos)
      << "kv-cx1 holds CPU 1 from the first reconcile\n"
      << Log();
  const auto unpin = Cli({"unpin", "kv-cx1"});
  ASSERT_TRUE(unpin.end.Exited(0)) << unpin.Describe();
  std::vector<int> oslat;
  ASSERT_TRUE(WaitUntil([&] { return !(oslat = OslatChildrenOf(daemon->pid())).empty(); }, 5s))
      << "no scheduled run once CPU 1 was free\n"
      << Log();
  EXPECT_TRUE(WaitUntil([&] {
    for (const auto& m : notify.Messages())
      if (m.starts_with("STATUS=") && m.find(" qualifying:1(") != std::string::npos) return true;
    return false;
  })) << "STATUS shows the run";
  const auto pin = Cli({"pin", "kv-cx1"});
  EXPECT_TRUE(pin.end.Exited(0)) << pin.Describe() << Log();
  EXPECT_NE(pin.out.find("pinned kv-cx1 as cx1.large"), std::string::npos) << pin.out;
  // The pin returned only after oslat was gone: nothing left in /proc.
  for (int pid : oslat) EXPECT_FALSE(ProcessExists(pid)) << "oslat " << pid << " still in /proc";
  EXPECT_TRUE(OslatChildrenOf(daemon->pid()).empty());
  const auto history = History();
  ASSERT_EQ(history.runs_size(), 1) << Log();
  EXPECT_EQ(history.runs(0).outcome(), v1::QUALIFY_CANCELLED);
  EXPECT_EQ(history.runs(0).error(), "a VM needs CPUs 1: qualification cancelled");
  EXPECT_FALSE(fs::exists(state() / qualify::kHoldFile));
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0));
}

// A cancelled run measured nothing: the next one is due at once, and starts at
// the first tick that finds its CPUs free again, not a qualifyInterval later.
TEST_F(DaemonQualifyTest, ARunCancelledForAVmIsRetriedAsSoonAsItsCpusAreFreeAgain) {
  WriteConfig("1-3");
  auto daemon = Start();
  ASSERT_TRUE(Cli({"unpin", "kv-cx1"}).end.Exited(0));
  ASSERT_TRUE(WaitUntil([&] { return !OslatChildrenOf(daemon->pid()).empty(); }, 5s)) << Log();
  ASSERT_TRUE(Cli({"pin", "kv-cx1"}).end.Exited(0)) << Log();
  ASSERT_EQ(History().runs_size(), 1);
  ASSERT_EQ(History().runs(0).outcome(), v1::QUALIFY_CANCELLED);
  std::this_thread::sleep_for(1s);  // five ticks with CPU 1 held: nothing to measure
  EXPECT_TRUE(OslatChildrenOf(daemon->pid()).empty());
  ASSERT_TRUE(Cli({"unpin", "kv-cx1"}).end.Exited(0));
  ASSERT_TRUE(WaitUntil([&] { return !OslatChildrenOf(daemon->pid()).empty(); }, 5s))
      << "no new run once CPU 1 was free again\n"
      << Log();
  ASSERT_TRUE(WaitUntil([&] { return History().runs_size() == 2; }, 60s)) << Log();
  EXPECT_NE(History().runs(1).outcome(), v1::QUALIFY_CANCELLED) << History().runs(1).error();
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0));
}

// A CLI `qualify` records its CPUs in the state dir's hold file; the daemon
// must not hand them to a VM while that process lives (here the test itself).
TEST_F(DaemonQualifyTest, CpusAnotherProcessIsQualifyingAreNotGivenToAVm) {
  WriteConfig("1-3", "off");  // kv-cx1 fits only on 1-3; the daemon runs nothing itself
  auto hold = std::make_unique<qualify::CpuHold>(state(), ParseCpuList("1"));
  auto daemon = Start();
  EXPECT_NE(Log().find("reconcile: kv-cx1 (cx1.large) runs but does not fit"), std::string::npos)
      << "CPU 1 is being measured: the first reconcile leaves kv-cx1 unplaced\n"
      << Log();
  const auto held = Cli({"pin", "kv-cx1"});
  EXPECT_TRUE(held.end.Exited(1)) << held.Describe();
  EXPECT_NE(held.err.find("done by the running daemon"), std::string::npos) << held.Describe();
  EXPECT_NE(held.err.find("does not fit"), std::string::npos) << held.Describe();
  hold.reset();  // the run ended: its file is gone
  const auto pin = Cli({"pin", "kv-cx1"});
  EXPECT_TRUE(pin.end.Exited(0)) << pin.Describe() << Log();
  EXPECT_NE(pin.out.find("pinned kv-cx1 as cx1.large"), std::string::npos) << pin.out;
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0));
}

}  // namespace
}  // namespace kvhost::it
