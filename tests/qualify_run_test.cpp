// agent/qualify with the real oslat (Debian rt-tests, installed by ./dev) on
// this machine's CPU 1 (no isolated CPUs here: --allow-non-isolated), and the
// `auto` choice on a fixture root with isolated CPUs and VMs in its state file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>

#include "agent/allocator/capacity.h"
#include "agent/live/live_host.h"
#include "agent/qualify/history.h"
#include "agent/qualify/qualification.h"
#include "agent/qualify/run_text.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_store.h"
#include "damaged_root_support.h"
#include "publish_support.h"

namespace kvhost::qualify {
namespace {

using namespace std::chrono_literals;

const CpuChoice kCpu1{.main_thread_cpu = 1,
                      .measured = ParseCpuList("1"),
                      .main_thread_shares_cpu = true,
                      .qualifying = false};

QualifyJob JobOnCpu1(unsigned seconds, const fs::path& state_dir) {
  QualifyJob job;
  job.settings.duration_seconds = seconds;
  job.choice = kCpu1;
  job.state_dir = state_dir;
  return job;
}

OslatInvocation OnCpu1(unsigned seconds, std::chrono::seconds margin) {
  OslatInvocation invocation;
  invocation.duration_seconds = seconds;
  invocation.measured = ParseCpuList("1");
  invocation.main_thread_cpu = 1;
  invocation.json_file = "/dev/null";
  invocation.margin = margin;
  return invocation;
}

LiveHost Load(const fs::path& root, const fs::path& state_dir) {
  return LoadLiveHost(
      {.root = root, .state_dir = state_dir, .config = {}, .kubelet_config = {}, .running = {}});
}

bool ProcessExists(int pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

// Field 41 of /proc/<pid>/task/<tid>/stat: 1 = SCHED_FIFO.
bool AnyFifoThread(int pid) {
  std::error_code error;
  for (const auto& task :
       fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task", error)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i)
      if (i == 41 && field == "1") return true;
  }
  return false;
}

TEST(QualifyRun, RealOslatTwoSecondsParsedIntoAKeptResult) {
  const TempDir tmp;
  const QualifyJob job = JobOnCpu1(2, tmp.path());
  const auto run = RunQualification(job, {}, {});
  ASSERT_TRUE(run.outcome() == v1::QUALIFY_PASS || run.outcome() == v1::QUALIFY_WARN ||
              run.outcome() == v1::QUALIFY_FAIL)
      << RunText(run);
  ASSERT_EQ(run.cpus_size(), 1) << RunText(run);
  EXPECT_EQ(run.cpus(0).cpu(), 1u);
  EXPECT_GT(run.cpus(0).max_us(), 0);
  EXPECT_GE(run.cpus(0).avg_us(), run.cpus(0).min_us());
  EXPECT_EQ(run.output_source(), "json");
  EXPECT_FALSE(run.oslat_version().empty());
  EXPECT_FALSE(run.qualifying());
  EXPECT_NE(run.outcome(), v1::QUALIFY_PASS) << "a non-isolated run passed";
  const auto history = ReadHistory(tmp.path());
  ASSERT_EQ(history.runs_size(), 1);
  EXPECT_EQ(history.runs(0).max_latency_us(), run.max_latency_us());
  std::cout << RunText(run);
}

TEST(QualifyRun, StopKillsOslatAndItsFifoThreadsNothingLeftInProc) {
  int pid = 0;
  bool was_fifo = false;
  const auto start = std::chrono::steady_clock::now();
  RunControl control;
  control.started = [&](int child) { pid = child; };
  control.stop_reason = [&]() -> std::string {
    if (std::chrono::steady_clock::now() - start < 2500ms) return "";
    was_fifo = AnyFifoThread(pid);
    return "test stop";
  };
  const OslatExit exit = RunOslat(OnCpu1(30, 30s), control);
  EXPECT_EQ(exit.how, OslatExit::How::kStopped) << exit.output;
  EXPECT_EQ(exit.why, "test stop");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(was_fifo) << "oslat's SCHED_FIFO thread was not seen: the check below proves nothing";
  EXPECT_FALSE(ProcessExists(pid)) << "oslat " << pid << " still in /proc";
  EXPECT_LT(exit.elapsed, 10s);
}

TEST(QualifyRun, TimeoutKillsAHungRunAndSaysSo) {
  int pid = 0;
  RunControl control;
  control.started = [&](int child) { pid = child; };
  const OslatExit exit = RunOslat(OnCpu1(1, 0s), control);  // oslat pre-heats 1 s more
  EXPECT_EQ(exit.how, OslatExit::How::kTimedOut) << exit.output;
  EXPECT_NE(exit.why.find("no result after 1 s"), std::string::npos) << exit.why;
  EXPECT_FALSE(ProcessExists(pid));
}

TEST(QualifyRun, AVmPlacedOnItsCpusDuringARunCancelsItAndTheRunIsKept) {
  // The daemon's held set, as its allocator changes under the run.
  std::mutex mutex;
  CpuSet held_by_vms;
  std::thread placer([&] {
    std::this_thread::sleep_for(1500ms);
    std::lock_guard lock(mutex);
    held_by_vms.Add(1);
  });
  int pid = 0;
  RunControl control;
  control.started = [&](int child) { pid = child; };
  control.stop_reason = [&] {
    std::lock_guard lock(mutex);
    return PreemptionReason(kCpu1.all(), held_by_vms);
  };
  const TempDir tmp;
  const QualifyJob job = JobOnCpu1(30, tmp.path());
  const auto run = RunQualification(job, {}, control);
  placer.join();
  EXPECT_EQ(run.outcome(), v1::QUALIFY_CANCELLED) << RunText(run);
  EXPECT_EQ(run.error(), "a VM needs CPUs 1: qualification cancelled");
  EXPECT_FALSE(ProcessExists(pid));
  const auto history = ReadHistory(tmp.path());
  ASSERT_EQ(history.runs_size(), 1);
  EXPECT_EQ(history.runs(0).outcome(), v1::QUALIFY_CANCELLED);
}

// The oslat child of `parent`, from /proc (0 when there is none).
int OslatChildOf(int parent) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    if (stat.find("(oslat)") == std::string::npos) continue;
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string state;
    int ppid = 0;
    if (rest >> state >> ppid && ppid == parent) return std::stoi(entry.path().filename());
  }
  return 0;
}

TEST(QualifyRun, SigtermToTheCliStopsOslatKeepsTheRunCancelledAndExits6) {
  const TempDir tmp;
  const std::string agent = std::getenv("KVHOST_AGENT");
  const std::string state_dir = tmp.path().string();
  const pid_t cli = fork();
  ASSERT_GE(cli, 0);
  if (cli == 0) {
    execl(agent.c_str(), agent.c_str(), "qualify", "--cpus", "1", "--allow-non-isolated",
          "--duration", "30", "--state-dir", state_dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int oslat = 0;
  for (int i = 0; i < 100 && oslat == 0; ++i) {
    std::this_thread::sleep_for(50ms);
    oslat = OslatChildOf(cli);
  }
  std::this_thread::sleep_for(1500ms);
  kill(cli, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(cli, &status, 0), cli);
  ASSERT_GT(oslat, 0) << "no oslat child seen: the check below would prove nothing";
  EXPECT_FALSE(ProcessExists(oslat)) << "oslat " << oslat << " outlived the agent";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 6);
  const auto history = ReadHistory(tmp.path());
  ASSERT_EQ(history.runs_size(), 1);
  EXPECT_EQ(history.runs(0).outcome(), v1::QUALIFY_CANCELLED);
  EXPECT_EQ(history.runs(0).error(), "stopped by SIGTERM");
}

TEST(QualifyRun, AutoOnAFixtureRootTakesFreeIsolatedCpusAndLeavesThoseVmsHold) {
  const TempDir tmp;
  const auto root = testing::FixturesDir() / kPmemIsolated;
  const LiveHost empty = Load(root, tmp.path() / "none");
  const CpuSet isolated = empty.host.isolation.isolated;
  ASSERT_EQ(isolated.ToList(), "4-7,60-63");
  const CpuChoice free = ChooseCpus(empty.host.cpu, isolated, empty.allocator.HeldCpus(), {});
  EXPECT_EQ(free.main_thread_cpu, 4u);
  EXPECT_EQ(free.measured.ToList(), "5-7,61-63");  // 60 is CPU 4's SMT sibling

  // A VM on isolated core 5/61, saved in the root's state file as the daemon saves it.
  Allocator placing = empty.allocator;
  Placement vm;
  vm.vm = "vm-a";
  vm.instance_type = "cx1.medium";
  vm.dedicated = true;
  vm.vcpu_cpus = {5, 61};
  placing.Commit(vm);
  v1::AgentState saved;
  for (const auto& [name, p] : placing.placements())
    *saved.add_allocations() = AllocationFromPlacement(p, name, "test:///default");
  StateStore(tmp.path()).Save(saved);
  const LiveHost busy = Load(root, tmp.path());
  const CpuChoice left = ChooseCpus(busy.host.cpu, isolated, busy.allocator.HeldCpus(), {});
  EXPECT_EQ(left.main_thread_cpu, 4u);
  EXPECT_EQ(left.measured.ToList(), "6-7,62-63");

  // While a qualification holds CPUs, the live loader counts them as taken.
  {
    const CpuHold hold(tmp.path(), left.all());
    const LiveHost during = Load(root, tmp.path());
    EXPECT_TRUE(left.all().IsSubsetOf(during.allocator.HeldCpus()));
  }
  const LiveHost after = Load(root, tmp.path());
  EXPECT_FALSE(left.all().Intersects(after.allocator.HeldCpus()));
}

bool Blocks(const LiveHost& live, const std::string& blocker) {
  const auto& blockers = live.resources->realtime_blockers;
  return std::find(blockers.begin(), blockers.end(), blocker) != blockers.end();
}

TEST(QualifyRun, Rt1CapacityFollowsTheVerdictWhenQualificationIsRequired) {
  const TempDir tmp;
  const auto root = testing::FixturesDir() / kPmemIsolated;
  AgentConfig config;
  const std::string blocker = "no passing qualification within 7d";
  const auto load = [&] {
    return LoadLiveHost({.root = root,
                         .state_dir = tmp.path(),
                         .config = config,
                         .kubelet_config = {},
                         .running = {}});
  };
  EXPECT_FALSE(Blocks(load(), blocker)) << "off by default";
  config.require_qualification = true;
  const LiveHost unproven = load();
  EXPECT_TRUE(Blocks(unproven, blocker));
  const InstanceType* rt1 = testing::TestCatalog().Find("rt1.medium");
  ASSERT_NE(rt1, nullptr);
  const auto refused = unproven.allocator.Place(*rt1, "rt");
  EXPECT_FALSE(refused.placement);
  ASSERT_FALSE(refused.reasons.empty());
  EXPECT_NE(refused.reasons.front().find(blocker), std::string::npos) << refused.reasons.front();
  EXPECT_EQ(CountFits(unproven.allocator, *rt1).count, 0u);

  v1::QualificationRun run;
  run.set_outcome(v1::QUALIFY_FAIL);
  run.set_qualifying(true);
  run.set_started_unix(std::time(nullptr));
  AppendRun(tmp.path(), run);
  EXPECT_TRUE(Blocks(load(), blocker)) << "a failed run opened the gate";
  run.set_outcome(v1::QUALIFY_PASS);
  AppendRun(tmp.path(), run);
  EXPECT_FALSE(Blocks(load(), blocker)) << "a recent pass did not open the gate";
  config.qualification_max_age_hours = 1;
  run.set_started_unix(std::time(nullptr) - 7200);
  const TempDir old;
  AppendRun(old.path(), run);
  EXPECT_TRUE(Blocks(LoadLiveHost({.root = root,
                                   .state_dir = old.path(),
                                   .config = config,
                                   .kubelet_config = {},
                                   .running = {}}),
                     "no passing qualification within 1h"));
}

}  // namespace
}  // namespace kvhost::qualify
