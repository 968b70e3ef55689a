// QEMU threads through procfs: the real /proc with this test process's own
// threads standing in for QEMU's (named and pinned as libvirt does), and fake
// trees for the pid file and for malformed or vanishing thread files.
#include "agent/pinning/qemu_threads.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>

#include "agent/libvirt/desired_pinning.h"
#include "agent/pinning/local_qemu.h"
#include "pinning_test_support.h"

namespace kvhost::testing {
namespace {

const QemuThread* FindThread(const std::vector<QemuThread>& threads, int tid) {
  for (const QemuThread& t : threads)
    if (t.tid == tid) return &t;
  return nullptr;
}

// A /proc/<pid>/task/<tid>/stat line: 52 fields, comm in field 2, the
// scheduling policy in 41 and rt_priority in 40 (proc(5)).
std::string FakeStat(int tid, const std::string& comm, int policy, int rt_priority) {
  std::string line = std::to_string(tid) + " (" + comm + ") S";
  for (int field = 4; field <= 52; ++field) {
    const int value = field == 40 ? rt_priority : field == 41 ? policy : field;
    line += " " + std::to_string(value);
  }
  return line + "\n";
}

void WriteFakeThread(const ScratchDir& root, int pid, int tid, const std::string& comm,
                     const std::string& cpus, int policy, int rt_priority) {
  const std::string dir = "proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/";
  root.Write(dir + "comm", comm + "\n");
  root.Write(dir + "status", "Name:\t" + comm + "\nState:\tS (sleeping)\nCpus_allowed:\t3\n" +
                                 "Cpus_allowed_list:\t" + cpus + "\nvoluntary_ctxt_switches:\t5\n");
  root.Write(dir + "stat", FakeStat(tid, comm, policy, rt_priority));
}

TEST(QemuThreadsRealProc, ReadsThisProcessNamedAndPinnedThread) {
  NamedIdleThread vcpu("CPU 7/KVM", /*cpu=*/0);
  const std::vector<QemuThread> threads = ReadQemuThreads(SysfsRoot("/"), getpid());

  const QemuThread* read = FindThread(threads, vcpu.tid());
  ASSERT_NE(read, nullptr) << "tid " << vcpu.tid() << " not listed";
  EXPECT_EQ(read->name, "CPU 7/KVM");
  EXPECT_EQ(read->cpus_allowed.ToList(), "0");
  EXPECT_EQ(read->policy, SCHED_OTHER);
  EXPECT_EQ(read->rt_priority, 0);
  EXPECT_EQ(VcpuIndexOfThread(read->name), 7u);

  // The main thread (tid == pid) is there too, and the list is ordered by tid.
  EXPECT_NE(FindThread(threads, getpid()), nullptr);
  EXPECT_TRUE(std::is_sorted(threads.begin(), threads.end(),
                             [](const auto& a, const auto& b) { return a.tid < b.tid; }));
}

TEST(QemuThreadsRealProc, ExitedThreadIsAbsentNotAnError) {
  int gone_tid = 0;
  {
    NamedIdleThread short_lived("CPU 1/KVM");
    gone_tid = short_lived.tid();
  }  // joined: the kernel has released the thread
  const SysfsRoot root("/");
  EXPECT_EQ(ReadQemuThread(root, getpid(), gone_tid), std::nullopt);
  EXPECT_EQ(FindThread(ReadQemuThreads(root, getpid()), gone_tid), nullptr);
}

TEST(QemuThreadsRealProc, ThreadsComingAndGoingWhileReadingNeverThrow) {
  // Threads exit between the listing and the reads (or in the middle of a
  // read) as QEMU's I/O workers do; every such thread must be skipped quietly.
  std::atomic<bool> stop{false};
  auto churn = [&stop] {
    while (!stop.load()) std::thread([] {}).join();
  };
  std::thread churn_a(churn), churn_b(churn);
  size_t reads = 0;
  try {
    for (; reads < 300; ++reads) ReadQemuThreads(SysfsRoot("/"), getpid());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "read " << reads << " threw: " << e.what();
  }
  stop = true;
  churn_a.join();
  churn_b.join();
}

TEST(QemuThreadsRealProc, GonePidHasNoThreads) {
  // Beyond PID_MAX_LIMIT (2^22): no process can have this pid.
  EXPECT_TRUE(ReadQemuThreads(SysfsRoot("/"), (1 << 22) + 1).empty());
}

TEST(QemuPidTest, ReadsLibvirtPidFile) {
  ScratchDir root;
  root.Write("var/run/libvirt/qemu/vm-a.pid", "4242\n");
  EXPECT_EQ(QemuPid(SysfsRoot(root.path()), "vm-a"), 4242);
  EXPECT_EQ(QemuPid(SysfsRoot(root.path()), "not-running"), std::nullopt);
}

TEST(QemuPidTest, GarbageIsInputErrorNamingTheFile) {
  ScratchDir root;
  const SysfsRoot sysfs(root.path());
  for (const char* garbage : {"pid 12\n", "", "0", "-3", "12abc", "99999999"}) {
    root.Write("var/run/libvirt/qemu/vm-b.pid", garbage);
    try {
      QemuPid(sysfs, "vm-b");
      ADD_FAILURE() << "no error for '" << garbage << "'";
    } catch (const InputError& e) {
      EXPECT_EQ(e.file(), root.path() / "var/run/libvirt/qemu/vm-b.pid");
      EXPECT_NE(std::string(e.what()).find("is not a process id"), std::string::npos) << e.what();
    }
  }
}

TEST(QemuPidTest, NamesThatWouldLeaveThePidDirectoryAreRefused) {
  ScratchDir root;
  const SysfsRoot sysfs(root.path());
  for (const char* name : {"", ".", "..", "../../etc/passwd", "a/b"})
    EXPECT_THROW(QemuPid(sysfs, name), std::invalid_argument) << name;
}

TEST(QemuThreadsFakeProc, ReadsNamesCpusAndScheduling) {
  ScratchDir root;
  WriteFakeThread(root, 100, 100, "qemu-kvm", "0-31", SCHED_OTHER, 0);
  WriteFakeThread(root, 100, 101, "CPU 0/KVM", "4", SCHED_FIFO, 1);
  // comm may hold ')' and spaces: fields are counted from the last ')'.
  WriteFakeThread(root, 100, 102, "odd) name (x", "5,21", SCHED_RR, 42);

  const std::vector<QemuThread> threads = ReadQemuThreads(SysfsRoot(root.path()), 100);
  ASSERT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads[0].name, "qemu-kvm");
  EXPECT_EQ(threads[0].cpus_allowed.ToList(), "0-31");
  EXPECT_EQ(threads[1].tid, 101);
  EXPECT_EQ(threads[1].cpus_allowed.ToList(), "4");
  EXPECT_EQ(threads[1].policy, SCHED_FIFO);
  EXPECT_EQ(threads[1].rt_priority, 1);
  EXPECT_EQ(threads[2].name, "odd) name (x");
  EXPECT_EQ(threads[2].cpus_allowed.ToList(), "5,21");
  EXPECT_EQ(threads[2].policy, SCHED_RR);
  EXPECT_EQ(threads[2].rt_priority, 42);
}

TEST(QemuThreadsFakeProc, ThreadWhoseFilesAreGoneIsPassedOver) {
  ScratchDir root;
  WriteFakeThread(root, 100, 100, "qemu-kvm", "0-3", SCHED_OTHER, 0);
  // Listed, then gone before its files were read: an empty task directory,
  // and an entry that is no directory at all (open gives ENOTDIR).
  std::filesystem::create_directories(root.path() / "proc/100/task/101");
  root.Write("proc/100/task/102", "");
  // comm read, then the thread exited before status: also skipped.
  root.Write("proc/100/task/103/comm", "CPU 2/KVM\n");

  const std::vector<QemuThread> threads = ReadQemuThreads(SysfsRoot(root.path()), 100);
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].tid, 100);
}

void ExpectInputError(const ScratchDir& root, const std::string& file, const std::string& words) {
  try {
    ReadQemuThreads(SysfsRoot(root.path()), 100);
    ADD_FAILURE() << "no error for a malformed " << file;
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), root.path() / file) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(QemuThreadsFakeProc, MalformedFilesAreInputErrorsNamingTheFile) {
  ScratchDir root;
  WriteFakeThread(root, 100, 100, "qemu-kvm", "0-x", SCHED_OTHER, 0);
  ExpectInputError(root, "proc/100/task/100/status", "Cpus_allowed_list");

  root.Write("proc/100/task/100/status", "Name:\tqemu-kvm\nCpus_allowed:\tf\n");
  ExpectInputError(root, "proc/100/task/100/status", "no Cpus_allowed_list line");

  WriteFakeThread(root, 100, 100, "qemu-kvm", "0-3", SCHED_OTHER, 0);
  root.Write("proc/100/task/100/stat", "100 (qemu-kvm) S 1 2 3\n");
  ExpectInputError(root, "proc/100/task/100/stat", "needs at least 41");

  root.Write("proc/100/task/100/stat", "100 qemu-kvm S 1 2 3\n");
  ExpectInputError(root, "proc/100/task/100/stat", "no '(comm)' field");

  std::string bad_policy = FakeStat(100, "qemu-kvm", 0, 0);
  bad_policy.replace(bad_policy.find(" 0 0 42 "), 8, " 0 fifo 42 ");  // field 41
  root.Write("proc/100/task/100/stat", bad_policy);
  ExpectInputError(root, "proc/100/task/100/stat", "field 41 (policy) 'fifo'");
}

TEST(VcpuIndexOfThreadTest, ParsesKvmAndTcgVcpuThreadNamesOnly) {
  EXPECT_EQ(VcpuIndexOfThread("CPU 0/KVM"), 0u);
  EXPECT_EQ(VcpuIndexOfThread("CPU 3/KVM"), 3u);
  EXPECT_EQ(VcpuIndexOfThread("CPU 255/KVM"), 255u);
  // QEMU without /dev/kvm (TCG) names its vCPU threads the same way.
  EXPECT_EQ(VcpuIndexOfThread("CPU 0/TCG"), 0u);
  EXPECT_EQ(VcpuIndexOfThread("CPU 12/TCG"), 12u);
  for (const char* other :
       {"CPU 3/tcg", "CPU 3/XEN", "CPU /TCG", "CPU /KVM", "CPU -1/KVM", "CPU +1/KVM", "CPU 03/KVM",
        "CPU 3/KVMx", "CPU 3 /KVM", "cpu 3/KVM", "CPU 3/kvm", "qemu-system-x86", "IO mon_iothread",
        "", "CPU 99999999999/KVM"})
    EXPECT_EQ(VcpuIndexOfThread(other), std::nullopt) << other;
}

// TuneLocalQemu on a fake /proc: QEMU (pid 4242) of a 2-vCPU domain whose
// vCPUs libvirt pinned to CPUs 2 and 3.
class LocalQemuCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.Write("var/run/libvirt/qemu/vm.pid", "4242\n");
    WriteFakeThread(root_, 4242, 4242, "qemu-system-x86", "0-3", SCHED_OTHER, 0);
    want_.vcpus = {CpuSet::Range(2, 2), CpuSet::Range(3, 3)};
  }
  LocalTuning Check() const {
    return TuneLocalQemu(SysfsRoot(root_.path()), "vm", Placement{}, want_, nullptr, CpuSet(),
                         false);
  }
  ScratchDir root_;
  DesiredPinning want_;
};

TEST_F(LocalQemuCheck, VerifiesTcgVcpuThreadsAndCatchesOneOffItsCpu) {
  WriteFakeThread(root_, 4242, 4243, "CPU 0/TCG", "2", SCHED_OTHER, 0);
  WriteFakeThread(root_, 4242, 4244, "CPU 1/TCG", "3", SCHED_OTHER, 0);
  EXPECT_TRUE(Check().verified_from_proc);

  WriteFakeThread(root_, 4242, 4244, "CPU 1/TCG", "0-3", SCHED_OTHER, 0);
  try {
    Check();
    ADD_FAILURE() << "a TCG vCPU thread off its CPU passed the /proc check";
  } catch (const PlacementApplyError& e) {
    EXPECT_NE(std::string(e.what()).find("'CPU 1/TCG') may run on CPUs 0-3, not 3"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(LocalQemuCheck, FailsWhenTheVcpuThreadsFoundAreNotTheDomainsVcpus) {
  // No vCPU thread at all (say, an accelerator whose threads are named otherwise).
  WriteFakeThread(root_, 4242, 4243, "CPU 0/XEN", "2", SCHED_OTHER, 0);
  try {
    const LocalTuning t = Check();
    ADD_FAILURE() << "nothing was checked, yet verified_from_proc=" << t.verified_from_proc;
  } catch (const PlacementApplyError& e) {
    EXPECT_NE(std::string(e.what()).find("0 vCPU threads"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("2 vCPUs"), std::string::npos) << e.what();
  }
  // One of two.
  WriteFakeThread(root_, 4242, 4244, "CPU 0/KVM", "2", SCHED_OTHER, 0);
  try {
    Check();
    ADD_FAILURE() << "one vCPU thread of two passed the /proc check";
  } catch (const PlacementApplyError& e) {
    EXPECT_NE(std::string(e.what()).find("1 vCPU threads"), std::string::npos) << e.what();
  }
}

TEST(SchedulingPolicyNameTest, NamesKnownPoliciesAndNumbersTheRest) {
  EXPECT_EQ(SchedulingPolicyName(SCHED_OTHER), "SCHED_OTHER");
  EXPECT_EQ(SchedulingPolicyName(SCHED_FIFO), "SCHED_FIFO");
  EXPECT_EQ(SchedulingPolicyName(17), "policy 17");
}

}  // namespace
}  // namespace kvhost::testing
