// Realtime readiness facts on small hand-made roots (every file a real kernel
// has; written here so each verdict can be forced).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "realtime/realtime.h"

namespace kvhost {
namespace {

namespace fs = std::filesystem;

class RealtimeFacts : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() /
           ("kvhost-rt-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
    fs::create_directories(root);
  }
  void TearDown() override { fs::remove_all(root); }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  }
  RealtimeReadiness Read(const CpuSet& isolated = CpuSet::Range(2, 3)) {
    return ReadRealtime(SysfsRoot(root), isolated);
  }
  fs::path root;
};

TEST_F(RealtimeFacts, APreemptRtHostWithEverythingInPlaceIsReady) {
  Write("sys/kernel/realtime", "1\n");
  Write("proc/sys/kernel/sched_rt_runtime_us", "-1\n");
  Write("sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n");
  Write("dev/kvm", "");
  Write("sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "performance\n");
  Write("sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "performance\n");
  const RealtimeReadiness rt = Read();
  EXPECT_TRUE(rt.Ready()) << (rt.Blockers().empty() ? "" : rt.Blockers().front());
  EXPECT_EQ(rt.guest_rt_budget.value, "none");  // no cgroup v1 RT group scheduling
}

TEST_F(RealtimeFacts, AGuestCgroupWithoutRtBudgetBlocksRealtime) {
  Write("sys/kernel/realtime", "1\n");
  Write("proc/sys/kernel/sched_rt_runtime_us", "-1\n");
  Write("dev/kvm", "");
  Write("sys/fs/cgroup/cpu/cpu.rt_runtime_us", "950000\n");
  Write("sys/fs/cgroup/cpu/machine/cpu.rt_runtime_us", "0\n");
  RealtimeReadiness rt = Read();
  EXPECT_EQ(rt.guest_rt_budget.verdict, Verdict::kFail);
  EXPECT_FALSE(rt.Ready());
  EXPECT_NE(rt.guest_rt_budget.reason.find("machine/cpu.rt_runtime_us is 0"), std::string::npos);
  // With a budget (systemd's machine.slice here), SCHED_FIFO is allowed.
  Write("sys/fs/cgroup/cpu/machine.slice/cpu.rt_runtime_us", "200000\n");
  EXPECT_EQ(Read().guest_rt_budget.verdict, Verdict::kOk);
}

TEST_F(RealtimeFacts, NoMachineCgroupYetMeansNoBudgetOnceLibvirtMakesIt) {
  // A new cgroup starts with cpu.rt_runtime_us 0 under RT group scheduling.
  Write("sys/fs/cgroup/cpu/cpu.rt_runtime_us", "950000\n");
  EXPECT_EQ(Read().guest_rt_budget.verdict, Verdict::kFail);
}

TEST_F(RealtimeFacts, AStockKernelAndThrottlingSayWhy) {
  Write("proc/version", "Linux version 6.1.0 (gcc) #1 SMP PREEMPT_DYNAMIC Debian\n");
  Write("proc/sys/kernel/sched_rt_runtime_us", "950000\n");
  Write("sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
  const RealtimeReadiness rt = Read(CpuSet());
  EXPECT_EQ(rt.preempt_rt.verdict, Verdict::kFail);
  EXPECT_EQ(rt.sched_rt_runtime_us.verdict, Verdict::kWarn);
  EXPECT_EQ(rt.transparent_hugepages.verdict, Verdict::kWarn);
  EXPECT_EQ(rt.isolated_cpus.verdict, Verdict::kFail);
  EXPECT_EQ(rt.kvm.verdict, Verdict::kFail);
  EXPECT_EQ(rt.Blockers().size(), 3u);  // preemptRt, isolatedCpus, kvm: warnings do not block
}

// The shipped unit's PrivateDevices=yes gives the agent a /dev without kvm,
// while /sys still shows the host's devices: this root is that view (the
// kvm misc device registered, laid out as the kernel does, and no dev/kvm).
TEST_F(RealtimeFacts, KvmIsSeenFromSysfsWhenTheUnitHidesDevKvm) {
  Write("sys/devices/virtual/misc/kvm/dev", "10:232\n");
  fs::create_directories(root / "sys/class/misc");
  fs::create_directory_symlink("../../devices/virtual/misc/kvm", root / "sys/class/misc/kvm");
  const RealtimeReadiness rt = Read();
  EXPECT_EQ(rt.kvm.verdict, Verdict::kOk) << rt.kvm.reason;
  EXPECT_NE(rt.kvm.reason.find("/sys/class/misc/kvm"), std::string::npos) << rt.kvm.reason;

  // A dangling link (no kvm module behind it) is no device.
  fs::remove_all(root / "sys/devices/virtual/misc/kvm");
  EXPECT_EQ(Read().kvm.verdict, Verdict::kFail);
  // /dev/kvm alone still counts: a root where the agent runs without the unit.
  Write("dev/kvm", "");
  EXPECT_EQ(Read().kvm.verdict, Verdict::kOk);
}

TEST_F(RealtimeFacts, MalformedFactsAreUnknownNotGuessed) {
  Write("proc/sys/kernel/sched_rt_runtime_us", "lots\n");
  Write("sys/fs/cgroup/cpu/cpu.rt_runtime_us", "x\n");
  const RealtimeReadiness rt = Read();
  EXPECT_EQ(rt.sched_rt_runtime_us.verdict, Verdict::kUnknown);
  EXPECT_NE(rt.sched_rt_runtime_us.reason.find("sched_rt_runtime_us"), std::string::npos);
  EXPECT_EQ(rt.guest_rt_budget.verdict, Verdict::kUnknown);
  EXPECT_FALSE(rt.Ready());
}

}  // namespace
}  // namespace kvhost
