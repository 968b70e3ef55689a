// SCHED_FIFO for vCPU threads, on this test process's own threads named like
// QEMU's (the tests run as root, so SCHED_FIFO is allowed). Every thread made
// FIFO is put back to SCHED_OTHER by a guard, even when an assertion fails.
#include "agent/pinning/realtime_threads.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <vector>

#include "agent/pinning/qemu_threads.h"
#include "pinning_test_support.h"

namespace kvhost::testing {
namespace {

// Puts the threads back to SCHED_OTHER when the test ends, however it ends.
class RestoreSchedOther {
 public:
  explicit RestoreSchedOther(std::vector<int> tids) : tids_(std::move(tids)) {}
  ~RestoreSchedOther() {
    const sched_param normal{.sched_priority = 0};
    for (int tid : tids_) sched_setscheduler(tid, SCHED_OTHER, &normal);
  }
  RestoreSchedOther(const RestoreSchedOther&) = delete;
  RestoreSchedOther& operator=(const RestoreSchedOther&) = delete;

 private:
  std::vector<int> tids_;
};

QemuThread ReadBack(int tid) {
  auto thread = ReadQemuThread(SysfsRoot("/"), getpid(), tid);
  if (!thread) throw std::runtime_error("thread " + std::to_string(tid) + " vanished");
  return *thread;
}

class VcpuThreadsFifo : public ::testing::Test {
 protected:
  NamedIdleThread vcpu0{"CPU 0/KVM", 0};
  NamedIdleThread vcpu1{"CPU 1/KVM"};
  NamedIdleThread iothread{"IO mon_iothread"};
  RestoreSchedOther restore{{vcpu0.tid(), vcpu1.tid(), iothread.tid(), getpid()}};
};

TEST_F(VcpuThreadsFifo, OnlyVcpuThreadsBecomeFifoPriorityOne) {
  EXPECT_EQ(SetVcpuThreadsFifo(SysfsRoot("/"), getpid()), 2u);

  for (int tid : {vcpu0.tid(), vcpu1.tid()}) {
    const QemuThread thread = ReadBack(tid);
    EXPECT_EQ(thread.policy, SCHED_FIFO) << thread.name;
    EXPECT_EQ(thread.rt_priority, 1) << thread.name;
    // What the kernel says, not only what procfs shows.
    EXPECT_EQ(sched_getscheduler(tid), SCHED_FIFO) << thread.name;
  }
  for (int tid : {iothread.tid(), static_cast<int>(getpid())}) {
    const QemuThread thread = ReadBack(tid);
    EXPECT_EQ(thread.policy, SCHED_OTHER) << thread.name;
    EXPECT_EQ(thread.rt_priority, 0) << thread.name;
  }
}

TEST_F(VcpuThreadsFifo, GivenPriorityIsApplied) {
  EXPECT_EQ(SetVcpuThreadsFifo(SysfsRoot("/"), getpid(), 5), 2u);
  EXPECT_EQ(ReadBack(vcpu0.tid()).rt_priority, 5);
  EXPECT_EQ(ReadBack(vcpu1.tid()).rt_priority, 5);
}

TEST_F(VcpuThreadsFifo, PriorityOutsideFifoRangeIsRefusedBeforeAnyChange) {
  for (int priority : {0, -1, 100}) {
    EXPECT_THROW(SetVcpuThreadsFifo(SysfsRoot("/"), getpid(), priority), std::invalid_argument)
        << priority;
  }
  EXPECT_EQ(ReadBack(vcpu0.tid()).policy, SCHED_OTHER);
}

TEST(VcpuThreadsFifoWithoutVcpus, ProcessWithoutKvmVcpuThreadsSetsNothing) {
  NamedIdleThread tcg("CPU 0/TCG");  // TCG vCPUs are not KVM vCPUs
  RestoreSchedOther restore({tcg.tid()});
  EXPECT_EQ(SetVcpuThreadsFifo(SysfsRoot("/"), getpid()), 0u);
  EXPECT_EQ(ReadBack(tcg.tid()).policy, SCHED_OTHER);
}

// In a child process that gave up root (uid nobody, no CAP_SYS_NICE,
// RLIMIT_RTPRIO 0) the kernel refuses SCHED_FIFO with EPERM, as it would for
// an agent without privileges; the error must name the thread and the pid.
int RefusedFifoExitCode() {
  NamedIdleThread vcpu("CPU 4/KVM");
  const rlimit no_rt{0, 0};
  constexpr uid_t kNobody = 65534;
  if (setrlimit(RLIMIT_RTPRIO, &no_rt) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
      setresuid(kNobody, kNobody, kNobody) != 0)
    return 10;
  prctl(PR_SET_DUMPABLE, 1);  // keep our own /proc files readable after the uid change
  try {
    SetVcpuThreadsFifo(SysfsRoot("/"), getpid());
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return e.code().value() == EPERM ? 3 : 11;
  }
  return 12;
}

TEST(VcpuThreadsFifoDeathTest, RefusalNamesTheThreadAndPid) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(RefusedFifoExitCode()), ::testing::ExitedWithCode(3),
              "set SCHED_FIFO priority 1 on thread [0-9]+ 'CPU 4/KVM' of QEMU pid [0-9]+: "
              "Operation not permitted");
}

}  // namespace
}  // namespace kvhost::testing
