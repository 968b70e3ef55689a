// Crash safety of the pinning service against the real libvirtd and QEMU/KVM:
// the real kvhost-agent is killed with SIGKILL at each step of a pin
// (KVHOST_CRASH_AT, agent/state/crash_point.h), its state file is damaged, a
// domain dies while no agent runs; each time `kvhost-agent reconcile` must
// bring the state file back to libvirt's truth: every running domain of the
// test allocated exactly once, pinned in libvirt and in the kernel as
// allocated, and no CPU given twice.
#include <gtest/gtest.h>

#include <algorithm>

#include "pin_it_support.h"

namespace kvhost::it {
namespace {

std::string CrashAt(const std::string& point) { return "KVHOST_CRASH_AT=" + point; }

class PinCrash : public RealAgentTest, public ::testing::WithParamInterface<std::string> {
 protected:
  // What a crash at `point` while pinning `name` left proves where it
  // happened: the allocation is saved before libvirt is touched, never after.
  void ExpectCrashLeft(const std::string& point, const std::string& name) const {
    const std::optional<v1::Allocation> saved = Allocation(name);
    const std::string vcpu = hv_->VcpuCpus(name, 0);
    const std::string online = OnlineCpus().ToList();
    if (point == "after-allocation") {
      EXPECT_FALSE(saved) << "the allocation was saved before " << point;
      EXPECT_EQ(vcpu, online) << "libvirt was touched before " << point;
    } else if (point == "after-state-write") {
      EXPECT_TRUE(saved) << "the allocation was not saved before " << point;
      EXPECT_EQ(vcpu, online) << "libvirt was touched before " << point;
    } else {
      ASSERT_TRUE(saved) << "the allocation was not saved before " << point;
      ASSERT_EQ(saved->vcpu_cpus_size(), 1);
      EXPECT_EQ(vcpu, std::to_string(saved->vcpu_cpus(0)))
          << "libvirt was not pinned before " << point;
    }
  }
};

// The three crash points of Pinner::Pin, each hit twice: through the one-shot
// `pin DOMAIN` an operator runs, and through `pin --watch` pinning a domain
// as it starts, which is where a crash of the daemon lands in production.
TEST_P(PinCrash, KilledPinLeavesWhatReconcileRepairs) {
  const std::string point = GetParam();
  const std::string x = hv_->Define("x", 1, "it.dedicated");
  const std::string y = hv_->Define("y", 1, "it.dedicated");
  hv_->Start(x);

  {
    SCOPED_TRACE("kvhost-agent pin " + x);
    RunResult r = Agent({"pin", x}, {CrashAt(point)});
    EXPECT_TRUE(r.end.KilledBy(SIGKILL))
        << "`pin` never reached crash point " << point
        << " (a domain placed by the reconcile `pin` runs first is only re-applied by Pin):\n"
        << r.Describe();
    if (r.end.KilledBy(SIGKILL)) ExpectCrashLeft(point, x);
    r = Agent({"reconcile"});
    ExpectReconciled(r);
    ExpectStateIsLibvirtTruth(*hv_, state_.path(), {x});
  }

  SCOPED_TRACE("kvhost-agent pin --watch, then " + y + " starts");
  ASSERT_NO_FATAL_FAILURE(StartWatcher({CrashAt(point)}));
  hv_->Start(y);
  std::optional<ProcessEnd> end = watcher_->WaitFor(20s);
  ASSERT_TRUE(end) << "the watcher did not die at " << point << ":\n" << WatcherLog();
  EXPECT_TRUE(end->KilledBy(SIGKILL)) << end->Describe() << "\n" << WatcherLog();
  ExpectCrashLeft(point, y);

  RunResult r = Agent({"reconcile"});
  ExpectReconciled(r);
  EXPECT_NE(r.out.find(y), std::string::npos) << "reconcile did not report " << y << ":\n"
                                              << r.Describe();
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {x, y});
}

INSTANTIATE_TEST_SUITE_P(PinSteps, PinCrash,
                         ::testing::Values("after-allocation", "after-state-write",
                                           "after-libvirt"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

class PinFault : public RealAgentTest {};

TEST_F(PinFault, KilledBetweenVcpusLeavesAHalfPinnedDomainThatReconcileCompletes) {
  const std::string w = hv_->Define("w", 2, "it.dedicated2");
  hv_->Start(w);
  const std::string online = OnlineCpus().ToList();

  RunResult r = Agent({"pin", w}, {CrashAt("between-vcpus")});
  ASSERT_TRUE(r.end.KilledBy(SIGKILL)) << r.Describe();
  // Half done: vCPU 0 on one CPU, vCPU 1 still anywhere; the allocation is saved.
  const DomainPinning half = ReadPinning(hv_->connection(), hv_->Lookup(w), VIR_DOMAIN_AFFECT_LIVE);
  ASSERT_EQ(half.vcpus.size(), 2u);
  EXPECT_EQ(half.vcpus[0].Count(), 1u) << half.vcpus[0].ToList();
  EXPECT_EQ(half.vcpus[1].ToList(), online);
  EXPECT_EQ(hv_->VcpuCpus(w, 1), online);
  EXPECT_TRUE(Allocation(w)) << "the allocation was not saved before libvirt was touched";

  r = Agent({"reconcile"});
  ExpectReconciled(r);
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {w});
  std::optional<v1::Allocation> a = Allocation(w);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->vcpu_cpus_size(), 2);
  EXPECT_NE(a->vcpu_cpus(0), a->vcpu_cpus(1)) << "two vCPUs of " << w << " share a CPU";
}

TEST_F(PinFault, CorruptStateIsRebuiltFromLibvirtAndADomainGoneMeanwhileIsFreed) {
  const std::string d = hv_->Define("d", 1, "it.dedicated");
  const std::string s = hv_->Define("s", 1, "it.shared");
  hv_->Start(d);
  hv_->Start(s);
  const std::string online = OnlineCpus().ToList();
  for (const auto& name : {d, s}) {
    RunResult r = Agent({"pin", name});
    ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  }
  const v1::AgentState before = State();
  ASSERT_TRUE(AllocationOf(before, hv_->Uuid(d)) && AllocationOf(before, hv_->Uuid(s)));

  // One flipped byte in the middle: the checksum no longer matches.
  const fs::path file = state_.path() / StateStore::kFileName;
  std::string bytes = ReadFile(file);
  ASSERT_GT(bytes.size(), 8u);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0xff);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;

  RunResult r = Agent({"reconcile"});
  // A corrupt state is not a silent success: exit 5 (3 when other runs' domains had problems).
  EXPECT_TRUE(r.end.Exited(5) || r.end.Exited(3)) << r.Describe();
  EXPECT_NE(r.out.find("state file was corrupt ("), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find(file.string() + " was corrupt"), std::string::npos) << r.Describe();
  int aside = 0;
  for (const auto& entry : fs::directory_iterator(state_.path()))
    aside += entry.path().filename().string().rfind(StateStore::kCorruptPrefix, 0) == 0;
  EXPECT_EQ(aside, 1) << "the damaged file was not moved aside for a human to look at";
  // Nothing lost: the dedicated domain keeps its CPU (adopted from libvirt),
  // the shared one its pool.
  const v1::AgentState after = State();
  for (const auto& name : {d, s}) {
    auto was = AllocationOf(before, hv_->Uuid(name)), is = AllocationOf(after, hv_->Uuid(name));
    ASSERT_TRUE(was && is) << name << " lost its allocation";
    EXPECT_EQ(is->instance_type(), was->instance_type()) << name;
    EXPECT_EQ(is->dedicated(), was->dedicated()) << name;
    EXPECT_EQ(std::vector<unsigned>(is->vcpu_cpus().begin(), is->vcpu_cpus().end()),
              std::vector<unsigned>(was->vcpu_cpus().begin(), was->vcpu_cpus().end()))
        << name;
    EXPECT_EQ(is->shared_cpus(), was->shared_cpus()) << name;
  }
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {d, s});

  // The dedicated domain dies while no agent runs: the next reconcile frees
  // its CPU, which goes back to the shared pool.
  const std::string d_uuid = hv_->Uuid(d);
  hv_->Destroy(d);
  r = Agent({"reconcile"});
  ExpectReconciled(r);
  EXPECT_NE(r.out.find("freed 1: "), std::string::npos) << r.Describe();
  EXPECT_TRUE(r.out.find(d_uuid) != std::string::npos || r.out.find(d) != std::string::npos)
      << r.Describe();
  EXPECT_TRUE(AllocationsOf(State(), d_uuid).empty());
  ASSERT_TRUE(Allocation(s));
  EXPECT_EQ(Allocation(s)->shared_cpus(), online);
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {s});
}

}  // namespace
}  // namespace kvhost::it
