// IRQ steering. Changing this machine's real IRQ affinities in a test is not
// acceptable (it would move the interrupts of the disks and NICs the test
// runs on, and a crash between steer and restore would leave them moved), so
// every write goes to a temporary tree shaped like /proc/irq. The real
// /proc/irq is only read, by one test.
#include "agent/pinning/irq_steering.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <system_error>

#include "pinning_test_support.h"

namespace kvhost::testing {
namespace {

namespace fs = std::filesystem;

std::string AffinityFile(unsigned irq) {
  return "proc/irq/" + std::to_string(irq) + "/smp_affinity_list";
}

// A 4-CPU host: the VM holds CPUs 2-3, the housekeeping CPU is 0.
const CpuSet kVmCpus = CpuSet::Range(2, 3);
const CpuSet kHousekeeping = CpuSet::Range(0, 0);

const std::map<unsigned, std::string> kInitialAffinities = {
    {0, "0-3"},   // timer: never moved
    {1, "0-3"},   // -> 0-1
    {2, "0-3"},   // cascade: never moved
    {8, "2"},     // only a VM CPU -> the housekeeping CPUs
    {9, "0-1"},   // already avoids the VM: untouched
    {24, "2-3"},  // only VM CPUs -> the housekeeping CPUs
    {25, "1,3"},  // -> 1
};

class FakeProcIrq : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [irq, list] : kInitialAffinities) tree.Write(AffinityFile(irq), list + "\n");
    tree.Write("proc/irq/default_smp_affinity", "f\n");   // not an IRQ: ignored
    fs::create_directories(tree.path() / "proc/irq/30");  // an IRQ without the file
  }
  std::string Affinity(unsigned irq) const { return tree.Read(AffinityFile(irq)); }

  ScratchDir tree;
  SysfsRoot root{tree.path()};
};

std::vector<unsigned> IrqsOf(const std::vector<SavedIrqAffinity>& saved) {
  std::vector<unsigned> irqs;
  for (const auto& s : saved) irqs.push_back(s.irq);
  return irqs;
}

TEST_F(FakeProcIrq, SteersEveryMovableIrqOffTheVmCpusAndRestoresThem) {
  const IrqSteeringResult result = SteerIrqsAway(root, kVmCpus, kHousekeeping);

  EXPECT_EQ(IrqsOf(result.changed), (std::vector<unsigned>{1, 8, 24, 25}));
  EXPECT_EQ(result.changed[0].affinity.ToList(), "0-3");  // the old affinity, for restoring
  EXPECT_EQ(result.changed[3].affinity.ToList(), "1,3");
  EXPECT_TRUE(result.skipped.empty());
  EXPECT_EQ(Affinity(1), "0-1\n");
  EXPECT_EQ(Affinity(8), "0\n");
  EXPECT_EQ(Affinity(24), "0\n");
  EXPECT_EQ(Affinity(25), "1\n");
  for (unsigned untouched : {0u, 2u, 9u})
    EXPECT_EQ(Affinity(untouched), kInitialAffinities.at(untouched) + "\n") << untouched;

  EXPECT_TRUE(RestoreIrqs(root, result.changed).empty());
  for (const auto& [irq, list] : kInitialAffinities) EXPECT_EQ(Affinity(irq), list + "\n") << irq;
}

TEST_F(FakeProcIrq, PlanWritesNothing) {
  const std::vector<PlannedIrqMove> plan = PlanIrqSteering(root, kVmCpus, kHousekeeping);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[1].irq, 8u);
  EXPECT_EQ(plan[1].new_affinity.ToList(), "0");
  for (const auto& [irq, list] : kInitialAffinities) EXPECT_EQ(Affinity(irq), list + "\n") << irq;
}

// Managed IRQs (NVMe and virtio queues) and per-CPU IRQs open fine and refuse
// the write() itself with EIO; EINVAL is the kernel rejecting the mask. A fake
// file cannot be made to do that: as root a read-only file is still written
// (CAP_DAC_OVERRIDE), a directory in its place fails the read (EISDIR) and a
// FIFO blocks it, so neither reaches the write. The refusal is therefore
// injected at the write, through the same writer the real path uses.
TEST_F(FakeProcIrq, KernelRefusalsArePassedOverNotErrors) {
  const std::map<unsigned, int> refusals = {{8, EIO}, {24, EINVAL}};
  const IrqAffinityWriter managed_irqs = [&](const fs::path& file, const std::string& list) {
    for (const auto& [irq, error] : refusals)
      if (file == root.PathOf(AffinityFile(irq))) return error;
    return WriteProcAffinityFile(file, list);
  };
  const IrqSteeringResult result = SteerIrqsAway(root, kVmCpus, kHousekeeping, managed_irqs);

  EXPECT_EQ(IrqsOf(result.changed), (std::vector<unsigned>{1, 25}));
  ASSERT_EQ(result.skipped.size(), 2u);
  EXPECT_EQ(result.skipped[0].irq, 8u);
  EXPECT_EQ(result.skipped[0].reason, "Input/output error");
  EXPECT_EQ(result.skipped[1].irq, 24u);
  EXPECT_EQ(result.skipped[1].affinity.ToList(), "2-3");
  EXPECT_EQ(result.skipped[1].reason, "Invalid argument");
  EXPECT_EQ(Affinity(8), "2\n");
  EXPECT_EQ(Affinity(24), "2-3\n");
}

// One kernel file that really refuses a write the way an IRQ does: this
// process's own oom_score_adj reads "0" (a valid cpulist: CPU 0) and rejects
// 2000 (beyond its range of -1000..1000) with EINVAL at write(). Linked in as
// an IRQ's smp_affinity_list, it takes the real writer's path end to end.
// The value is set to 0 first and put back after; a refused write changes nothing.
TEST(KernelRefusedWrite, RealProcFileRefusingTheWriteIsPassedOver) {
  const fs::path oom_file = "/proc/self/oom_score_adj";
  std::string original;
  std::getline(std::ifstream(oom_file), original);
  struct PutBack {
    const fs::path& file;
    const std::string& value;
    ~PutBack() { std::ofstream(file) << value << "\n"; }
  } put_back{oom_file, original};
  std::ofstream(oom_file) << "0\n";

  ScratchDir tree;
  fs::create_directories(tree.path() / "proc/irq/40");
  fs::create_symlink(oom_file, tree.path() / AffinityFile(40));
  const IrqSteeringResult result =
      SteerIrqsAway(SysfsRoot(tree.path()), CpuSet::Range(0, 0), CpuSet::Range(2000, 2000));

  EXPECT_TRUE(result.changed.empty());
  ASSERT_EQ(result.skipped.size(), 1u);
  EXPECT_EQ(result.skipped[0].irq, 40u);
  EXPECT_EQ(result.skipped[0].reason, "Invalid argument");
  EXPECT_EQ(tree.Read(AffinityFile(40)), "0\n");
}

TEST_F(FakeProcIrq, UnexpectedWriteFailurePutsMovedIrqsBackAndNamesTheFile) {
  const IrqAffinityWriter full_disk = [&](const fs::path& file, const std::string& list) {
    if (file == root.PathOf(AffinityFile(25))) return ENOSPC;
    return WriteProcAffinityFile(file, list);
  };
  try {
    SteerIrqsAway(root, kVmCpus, kHousekeeping, full_disk);
    ADD_FAILURE() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOSPC);
    EXPECT_NE(std::string(e.what()).find(root.PathOf(AffinityFile(25)).string()), std::string::npos)
        << e.what();
  }
  // IRQs 1, 8 and 24 were moved before 25 failed; they are back.
  for (const auto& [irq, list] : kInitialAffinities) EXPECT_EQ(Affinity(irq), list + "\n") << irq;
}

TEST_F(FakeProcIrq, RestoreLeavesOutIrqsWhoseDeviceWentAway) {
  const IrqSteeringResult result = SteerIrqsAway(root, kVmCpus, kHousekeeping);
  fs::remove_all(tree.path() / "proc/irq/8");  // device unplugged while the VM ran

  const std::vector<SkippedIrq> not_restored = RestoreIrqs(root, result.changed);
  ASSERT_EQ(not_restored.size(), 1u);
  EXPECT_EQ(not_restored[0].irq, 8u);
  EXPECT_EQ(not_restored[0].reason, "No such file or directory");
  EXPECT_FALSE(fs::exists(tree.path() / AffinityFile(8)));  // not created by the restore
  EXPECT_EQ(Affinity(24), "2-3\n");
}

TEST_F(FakeProcIrq, HousekeepingMustBeNonEmptyAndApartFromTheVm) {
  EXPECT_THROW(SteerIrqsAway(root, kVmCpus, CpuSet()), std::invalid_argument);
  EXPECT_THROW(SteerIrqsAway(root, kVmCpus, CpuSet::Range(0, 2)), std::invalid_argument);
}

TEST_F(FakeProcIrq, MalformedAffinityIsInputErrorNamingTheFile) {
  tree.Write(AffinityFile(9), "0-x\n");
  try {
    SteerIrqsAway(root, kVmCpus, kHousekeeping);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), root.PathOf(AffinityFile(9)));
  }
  EXPECT_EQ(Affinity(1), "0-3\n");  // nothing was written before the whole tree was read
}

// Read-only: lists this machine's IRQs and plans against them, never writes.
TEST(RealProcIrq, ListsAndPlansWithoutWriting) {
  const SysfsRoot root("/");
  const std::vector<SavedIrqAffinity> irqs = ReadIrqAffinities(root);
  if (irqs.empty()) GTEST_SKIP() << "no /proc/irq here (a container without it)";
  for (const SavedIrqAffinity& irq : irqs)
    EXPECT_TRUE(fs::exists(root.PathOf(AffinityFile(irq.irq)))) << irq.irq;

  const CpuSet online = *root.ReadCpuListOptional("sys/devices/system/cpu/online");
  if (online.Count() < 2) GTEST_SKIP() << "one CPU: nothing to steer to";
  const CpuSet vm =
      CpuSet::Range(static_cast<unsigned>(online.Last()), static_cast<unsigned>(online.Last()));
  const CpuSet housekeeping = online - vm;
  for (const PlannedIrqMove& move : PlanIrqSteering(root, vm, housekeeping)) {
    EXPECT_NE(move.irq, 0u);
    EXPECT_NE(move.irq, 2u);
    EXPECT_TRUE(move.old_affinity.Intersects(vm)) << move.irq;
    EXPECT_FALSE(move.new_affinity.Intersects(vm)) << move.irq;
    EXPECT_FALSE(move.new_affinity.Empty()) << move.irq;
  }
}

}  // namespace
}  // namespace kvhost::testing
