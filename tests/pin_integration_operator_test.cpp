// What an operator does by hand next to the agent, on the real libvirtd and
// QEMU (the `libvirtd` ctest fixture; KVM, or TCG without /dev/kvm): moves a
// domain's threads with `virsh`, then asks `audit` and `reconcile`; unpins a
// domain and restarts the agent (issue 10, defects 2 and 4).
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "audit.pb.h"
#include "pin_it_support.h"

namespace kvhost::it {
namespace {

class PinIntegration : public RealAgentTest {
 protected:
  // The one CPU of a 1-vCPU dedicated allocation.
  unsigned OnlyCpu(const std::string& name) const {
    const std::optional<v1::Allocation> a = Allocation(name);
    EXPECT_TRUE(a && a->dedicated() && a->vcpu_cpus_size() == 1) << name;
    return a && a->vcpu_cpus_size() ? a->vcpu_cpus(0) : ~0u;
  }
  bool WaitForAllocation(const std::string& name, bool want = true) const {
    return WaitUntil([&] { return Allocation(name).has_value() == want; });
  }
  // `virsh WORDS...` on the test's libvirtd, as an operator would type it.
  static void Virsh(const std::vector<std::string>& words) {
    // libvirt-clients, which tests/harness/libvirtd.sh installs.
    std::vector<std::string> argv = {"/usr/bin/virsh", "-c", kUri};
    argv.insert(argv.end(), words.begin(), words.end());
    const RunResult r = RunProcess(argv);
    ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  }
  // `audit -o json`: its exit code and the violations on this test's domains.
  struct Audit {
    RunResult run;
    std::vector<v1::AuditViolation> ours;
    std::string Describe() const { return run.Describe(); }
  };
  Audit RunAudit() const {
    Audit audit{Agent({"audit", "-o", "json"}), {}};
    v1::AuditReport report;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(audit.run.out, &report).ok())
        << audit.Describe();
    for (const auto& v : report.violations())
      if (v.domain().rfind(DomainPrefix(), 0) == 0) audit.ours.push_back(v);
    return audit;
  }
  // A dedicated domain and a shared one, pinned by the agent, then the
  // dedicated domain's emulator moved by hand onto the shared guest's CPU.
  void PinBothThenMoveTheDedicatedEmulator(const std::string& ded, const std::string& shr) {
    hv_->Start(ded);
    hv_->Start(shr);
    for (const auto& name : {ded, shr}) {
      const RunResult r = Agent({"pin", name});
      ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
    }
    CpuSet pool = ParseCpuList(Allocation(shr)->shared_cpus());
    ASSERT_FALSE(pool.Empty());
    ASSERT_FALSE(pool.Contains(OnlyCpu(ded)));
    ASSERT_EQ(RunAudit().ours.size(), 0u) << "not clean before the move";
    Virsh({"emulatorpin", ded, std::to_string(pool.First()), "--live"});
  }
};

TEST_F(PinIntegration, AuditBlamesTheDomainThatLeftItsAllocationNotTheGuestItLandedOn) {
  const std::string ded = hv_->Define("x-1", 1, "it.dedicated");
  const std::string shr = hv_->Define("x-2", 1, "it.shared");
  ASSERT_NO_FATAL_FAILURE(PinBothThenMoveTheDedicatedEmulator(ded, shr));

  const Audit audit = RunAudit();
  EXPECT_TRUE(audit.run.end.Exited(4)) << audit.Describe();
  ASSERT_FALSE(audit.ours.empty()) << audit.Describe();
  bool suggests_repinning_ded = false;
  for (const auto& v : audit.ours) {
    EXPECT_EQ(v.domain(), ded) << v.rule() << ": " << v.detail();
    EXPECT_EQ(v.fix().find("pin " + shr), std::string::npos) << v.fix();
    suggests_repinning_ded |= v.fix().find("pin " + ded) != std::string::npos;
  }
  EXPECT_TRUE(suggests_repinning_ded) << audit.Describe();
}

TEST_F(PinIntegration, AuditCountsDriftAsAViolationExactlyWhenReconcileRepinsIt) {
  const std::string ded = hv_->Define("x-1", 1, "it.dedicated");
  const std::string shr = hv_->Define("x-2", 1, "it.shared");
  ASSERT_NO_FATAL_FAILURE(PinBothThenMoveTheDedicatedEmulator(ded, shr));
  hv_->Destroy(shr);  // no other domain is touched now: only the allocation says it is wrong

  Audit audit = RunAudit();
  EXPECT_TRUE(audit.run.end.Exited(4)) << audit.Describe();
  ASSERT_EQ(audit.ours.size(), 1u) << audit.Describe();
  EXPECT_EQ(audit.ours[0].domain(), ded);
  EXPECT_EQ(audit.ours[0].rule(), "drifted-from-allocation");
  EXPECT_NE(audit.ours[0].detail().find("emulator"), std::string::npos) << audit.Describe();

  const RunResult r = Agent({"reconcile"});
  ExpectReconciled(r);
  EXPECT_NE(r.out.find("re-pinned 1: " + ded), std::string::npos) << r.Describe();
  audit = RunAudit();
  EXPECT_TRUE(audit.run.end.Exited(0)) << audit.Describe();
  EXPECT_TRUE(audit.ours.empty()) << audit.Describe();
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {ded});
}

TEST_F(PinIntegration, UnpinLastsAcrossAgentRestartsUntilTheDomainRestarts) {
  const std::string freed = hv_->Define("x-1", 1, "it.dedicated");
  const std::string other = hv_->Define("x-2", 1, "it.shared");
  const std::string online = OnlineCpus().ToList();
  hv_->Start(freed);
  RunResult r = Agent({"pin", freed});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  r = Agent({"unpin", freed});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  ASSERT_FALSE(Allocation(freed));

  // Each a fresh agent process: only the state file remembers the unpin.
  r = Agent({"reconcile"});
  ExpectReconciled(r);
  EXPECT_FALSE(Allocation(freed)) << "reconcile placed it again:\n" << r.Describe();
  EXPECT_NE(r.out.find("left unpinned 1: " + freed), std::string::npos) << r.Describe();
  hv_->Start(other);
  r = Agent({"pin", other});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  EXPECT_FALSE(Allocation(freed)) << "a pin of another domain placed it again:\n" << r.Describe();
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  EXPECT_FALSE(Allocation(freed)) << "the watcher's start placed it again:\n" << WatcherLog();
  EXPECT_EQ(hv_->VcpuCpus(freed, 0), online) << "it no longer floats";

  // A restart of the domain ends the unpin: the watcher places it as usual.
  hv_->Destroy(freed);
  hv_->Start(freed);
  ASSERT_TRUE(WaitForAllocation(freed)) << "not placed after its restart:\n" << WatcherLog();
  EXPECT_TRUE(WaitUntil([&] { return hv_->VcpuCpus(freed, 0) == std::to_string(OnlyCpu(freed)); }));

  // The same when no agent runs while it restarts: the next reconcile places it.
  watcher_.reset();
  r = Agent({"unpin", freed});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  hv_->Destroy(freed);
  hv_->Start(freed);
  r = Agent({"reconcile"});
  ExpectReconciled(r);
  EXPECT_TRUE(Allocation(freed)) << "not placed after its restart:\n" << r.Describe();
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {freed, other});
}

}  // namespace
}  // namespace kvhost::it
