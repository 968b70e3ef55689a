// The pinning service end to end: the real kvhost-agent binary against the
// real libvirtd and QEMU (the `libvirtd` ctest fixture; KVM, or TCG without
// /dev/kvm), checked where it matters: in the kernel's view of the QEMU
// threads, in libvirt, and in the agent's state file. Written for a host with
// 2 or more CPUs, run with tests/data/it/config.yaml (no reserved CPUs) and
// tests/data/it/catalog.yaml.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <fstream>
#include <functional>

#include "agent/pinning/qemu_threads.h"
#include "agent/pinning/realtime_threads.h"
#include "audit.pb.h"
#include "pin_it_support.h"
#include "realtime/realtime.h"

namespace kvhost::it {
namespace {

class PinIntegration : public RealAgentTest {
 protected:
  // The one CPU of a 1-vCPU dedicated allocation.
  static unsigned OnlyCpu(const v1::Allocation& a) {
    EXPECT_TRUE(a.dedicated());
    EXPECT_EQ(a.vcpu_cpus_size(), 1);
    return a.vcpu_cpus_size() ? a.vcpu_cpus(0) : ~0u;
  }
  static CpuSet Without(CpuSet cpus, unsigned cpu) {
    cpus.Remove(cpu);
    return cpus;
  }
  // Polls the state file until the domain has (or, want == false, has no) allocation.
  bool WaitForAllocation(const std::string& name, bool want = true) const {
    return WaitUntil([&] { return Allocation(name).has_value() == want; });
  }
};

TEST_F(PinIntegration, PinPlacesDedicatedAndSharedDomainsAndUnpinGivesTheCpuBack) {
  const std::string ded = hv_->Define("ded", 1, "it.dedicated");
  const std::string shr = hv_->Define("shr", 1, "it.shared");
  hv_->Start(ded);
  hv_->Start(shr);
  const CpuSet online = OnlineCpus();

  RunResult r = Agent({"pin", ded});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  EXPECT_NE(r.out.find(ded + " as it.dedicated (metadata)"), std::string::npos) << r.Describe();
  std::optional<v1::Allocation> a = Allocation(ded);
  ASSERT_TRUE(a) << "no single allocation of " << ded;
  const unsigned cpu = OnlyCpu(*a);
  // The kernel runs the vCPU thread on exactly that CPU, nowhere else.
  EXPECT_EQ(hv_->VcpuCpus(ded, 0), std::to_string(cpu));

  r = Agent({"pin", shr});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  std::optional<v1::Allocation> s = Allocation(shr);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->dedicated());
  // The shared pool is every online CPU but the dedicated one.
  EXPECT_EQ(s->shared_cpus(), Without(online, cpu).ToList());
  EXPECT_EQ(hv_->VcpuCpus(shr, 0), Without(online, cpu).ToList());
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {ded, shr});

  // What the agent pinned audits clean against the real libvirt.
  r = Agent({"audit", "-o", "json"});
  EXPECT_TRUE(r.end.Exited(0)) << r.Describe();
  v1::AuditReport audit;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &audit).ok()) << r.Describe();
  EXPECT_GE(audit.domains_checked(), 2u);
  EXPECT_EQ(audit.violations_size(), 0) << r.Describe();

  // Pinning a pinned domain re-applies the same placement; nothing is taken twice.
  r = Agent({"pin", ded});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  EXPECT_NE(r.out.find("re-applied " + ded), std::string::npos) << r.Describe();
  ASSERT_TRUE(Allocation(ded));
  EXPECT_EQ(OnlyCpu(*Allocation(ded)), cpu);

  // A name libvirt does not know is an error naming it, and changes nothing.
  const std::string missing = DomainPrefix() + "no-such-domain";
  r = Agent({"pin", missing});
  EXPECT_TRUE(r.end.Exited(1)) << r.Describe();
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.Describe();
  EXPECT_EQ(State().allocations_size(), 2);

  r = Agent({"unpin", ded});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  EXPECT_NE(r.out.find("unpinned " + ded), std::string::npos) << r.Describe();
  EXPECT_FALSE(Allocation(ded)) << ded << " keeps an allocation after unpin";
  // Its CPU is back in the shared pool: the shared domain may run there again,
  // and the unpinned domain floats on the pool like any shared guest.
  ASSERT_TRUE(Allocation(shr));
  EXPECT_EQ(Allocation(shr)->shared_cpus(), online.ToList());
  EXPECT_EQ(hv_->VcpuCpus(shr, 0), online.ToList());
  EXPECT_EQ(hv_->VcpuCpus(ded, 0), online.ToList());
}

TEST_F(PinIntegration, RealtimeVcpuThreadsGetFifoExactlyWhenTheGuestRtBudgetFactSaysSo) {
  // SetVcpuThreadsFifo acts on KVM vCPU threads only: a realtime guest never
  // runs emulated, so under TCG there is nothing to make realtime.
  const testing::ItAccelerator accelerator = testing::ChooseItAccelerator();
  if (accelerator.domain_type != "kvm")
    GTEST_SKIP() << "needs KVM: only KVM vCPU threads are made SCHED_FIFO, and the domains run "
                    "under TCG here ("
                 << accelerator.why << ")";
  const std::string ded = hv_->Define("fifo", 1, "it.dedicated");
  hv_->Start(ded);
  RunResult r = Agent({"pin", ded});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();

  // SCHED_FIFO on a real QEMU's vCPU threads (what rt1 gets): the readiness
  // fact about the guests' cgroup RT budget must predict what the kernel does.
  // With cgroup v1 RT group scheduling and no budget for libvirt's machine
  // cgroup (this machine), the kernel refuses even root; with a budget, or
  // without RT group scheduling, the threads become FIFO 1 (read back, undone).
  const SysfsRoot root("/");
  const int pid = *QemuPid(root, ded);
  const Fact budget = ReadRealtime(root, CpuSet()).guest_rt_budget;
  if (budget.verdict == Verdict::kFail) {
    try {
      SetVcpuThreadsFifo(root, pid, 1);
      ADD_FAILURE() << "the kernel took SCHED_FIFO although " << budget.reason;
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EPERM) << e.what();
    }
  } else {
    EXPECT_EQ(SetVcpuThreadsFifo(root, pid, 1), 1u);
    for (const QemuThread& t : ReadQemuThreads(root, pid)) {
      if (!VcpuIndexOfThread(t.name)) continue;
      EXPECT_EQ(t.policy, SCHED_FIFO) << t.name;
      EXPECT_EQ(t.rt_priority, 1) << t.name;
      sched_param normal{};
      ::sched_setscheduler(t.tid, SCHED_OTHER, &normal);
    }
  }
}

TEST_F(PinIntegration, DomainWithoutMetadataIsPinnedAsTheTypeGivenElseReportedAsAmbiguous) {
  // 1 vCPU, 128 MiB, no metadata: both it.dedicated and it.shared match.
  const std::string anon = hv_->Define("anon", 1, "");
  hv_->Start(anon);

  RunResult r = Agent({"pin", anon, "--type", "it.dedicated"});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  std::optional<v1::Allocation> a = Allocation(anon);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->instance_type(), "it.dedicated") << "--type was not honoured:\n" << r.Describe();
  EXPECT_TRUE(a->dedicated());
  if (a->dedicated() && a->vcpu_cpus_size() == 1) {
    EXPECT_EQ(hv_->VcpuCpus(anon, 0), std::to_string(a->vcpu_cpus(0)));
  }

  // Without --type the agent does not guess between look-alikes: the domain
  // floats on the shared pool, and the output says why.
  r = Agent({"unpin", anon});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  r = Agent({"pin", anon});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  EXPECT_NE(r.out.find("2 catalog types match ("), std::string::npos) << r.Describe();
  {  // the look-alikes are named, both of them
    const size_t open = r.out.find("2 catalog types match (");
    const size_t close = r.out.find(')', open);
    ASSERT_NE(close, std::string::npos) << r.Describe();
    EXPECT_NE(r.out.substr(open, close - open).find(", "), std::string::npos) << r.Describe();
  }
  EXPECT_NE(r.out.find("); treated as shared"), std::string::npos) << r.Describe();
  a = Allocation(anon);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->dedicated());
  EXPECT_EQ(a->instance_type(), "unknown");
  EXPECT_EQ(hv_->VcpuCpus(anon, 0), OnlineCpus().ToList());
}

TEST_F(PinIntegration, WatcherPinsStartingDomainsFreesStoppedOnesAndSurvivesKill9) {
  const std::string ded = hv_->Define("wded", 1, "it.dedicated");
  const std::string shr = hv_->Define("wshr", 1, "it.shared");
  const CpuSet online = OnlineCpus();
  ASSERT_NO_FATAL_FAILURE(StartWatcher());

  hv_->Start(ded);
  ASSERT_TRUE(WaitForAllocation(ded)) << "the watcher did not pin " << ded << ":\n" << WatcherLog();
  const unsigned cpu = OnlyCpu(*Allocation(ded));
  // The allocation is saved before libvirt is touched: wait for the kernel too.
  EXPECT_TRUE(WaitUntil([&] { return hv_->VcpuCpus(ded, 0) == std::to_string(cpu); }))
      << hv_->VcpuCpus(ded, 0);

  hv_->Start(shr);
  ASSERT_TRUE(WaitForAllocation(shr)) << "the watcher did not pin " << shr << ":\n" << WatcherLog();
  const std::string pool = Without(online, cpu).ToList();
  EXPECT_EQ(Allocation(shr)->shared_cpus(), pool);
  EXPECT_TRUE(WaitUntil([&] { return hv_->VcpuCpus(shr, 0) == pool; })) << hv_->VcpuCpus(shr, 0);
  const v1::AgentState before = State();

  // kill -9 and start again: the saved allocations come back as they were.
  EXPECT_TRUE(watcher_->Stop(SIGKILL).KilledBy(SIGKILL));
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  EXPECT_NE(WatcherLog().find("reconciled: "), std::string::npos);
  const v1::AgentState after = State();
  for (const auto& name : {ded, shr}) {
    auto was = AllocationOf(before, hv_->Uuid(name)), is = AllocationOf(after, hv_->Uuid(name));
    ASSERT_TRUE(was && is) << name;
    EXPECT_EQ(is->instance_type(), was->instance_type()) << name;
    EXPECT_EQ(std::vector<unsigned>(is->vcpu_cpus().begin(), is->vcpu_cpus().end()),
              std::vector<unsigned>(was->vcpu_cpus().begin(), was->vcpu_cpus().end()))
        << name;
    EXPECT_EQ(is->shared_cpus(), was->shared_cpus()) << name;
  }
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {ded, shr});

  // The restarted watcher gets the stop event: the CPU goes back to the shared pool.
  hv_->Destroy(ded);
  ASSERT_TRUE(WaitForAllocation(ded, false)) << ded << " still allocated after it stopped:\n"
                                             << WatcherLog();
  // The state is saved before the line is logged: wait for it.
  EXPECT_TRUE(WaitUntil([&] {
    return WatcherLog().find(ded + " stopped: freed its CPUs") != std::string::npos;
  })) << WatcherLog();
  EXPECT_TRUE(WaitUntil(
      [&] { return Allocation(shr) && Allocation(shr)->shared_cpus() == online.ToList(); }));
  EXPECT_TRUE(WaitUntil([&] { return hv_->VcpuCpus(shr, 0) == online.ToList(); }))
      << hv_->VcpuCpus(shr, 0);
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {shr});
}

TEST_F(PinIntegration, WatcherReconnectsAndReconcilesAfterLibvirtdRestarts) {
  const std::string ded = hv_->Define("rded", 1, "it.dedicated");
  const std::string shr = hv_->Define("rshr", 1, "it.shared");
  hv_->Start(ded);
  hv_->Start(shr);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {ded, shr});
  const v1::AgentState before = State();
  const size_t log_before = WatcherLog().size();

  // The harness restarts only a libvirtd it started, and only when no other
  // build tree's run shares it; otherwise this test skips.
  RunResult r = RunProcess({"/bin/bash", (source_ / "tests/harness/libvirtd.sh").string(),
                            "restart", KVHOST_LIBVIRTD_DIR});
  if (r.end.Exited(77)) GTEST_SKIP() << r.out;
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  hv_->Reconnect();

  // The watcher notices the dead connection, reopens it (with backoff while
  // libvirtd is still down) and reconciles over the new one.
  ASSERT_TRUE(WaitUntil(
      [&] { return WatcherLog().find("reconciled: ", log_before) != std::string::npos; }, 60s))
      << "no reconcile after the libvirtd restart:\n"
      << WatcherLog();
  const std::string after_restart = WatcherLog().substr(log_before);
  EXPECT_NE(after_restart.find("lost; reconnecting"), std::string::npos) << after_restart;
  EXPECT_NE(after_restart.find("connection qemu:///system open"), std::string::npos)
      << after_restart;
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {ded, shr});
  for (const auto& name : {ded, shr}) {
    auto was = AllocationOf(before, hv_->Uuid(name)), is = AllocationOf(State(), hv_->Uuid(name));
    ASSERT_TRUE(was && is) << name;
    EXPECT_EQ(is->SerializeAsString(), was->SerializeAsString())
        << name << " moved across the restart";
  }

  // Events flow on the new connection: a stop still frees the CPU.
  hv_->Destroy(ded);
  ASSERT_TRUE(WaitForAllocation(ded, false)) << ded << " still allocated after it stopped:\n"
                                             << WatcherLog();
  // The freed core reaches the shared guest in two steps (libvirt, then the
  // state file): wait for both before comparing them.
  const CpuSet online = OnlineCpus();
  EXPECT_TRUE(WaitUntil(
      [&] { return Allocation(shr) && Allocation(shr)->shared_cpus() == online.ToList(); }));
  EXPECT_TRUE(WaitUntil([&] { return hv_->VcpuCpus(shr, 0) == online.ToList(); }))
      << hv_->VcpuCpus(shr, 0);
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), {shr});
}

// A copy of this host's root as symlinks, with every online CPU isolated: the
// realtime layout, where the shared pool is empty once the dedicated guests
// hold every CPU (issue 10, defect 1).
fs::path IsolateEveryCpu(const fs::path& farm) {
  const std::map<std::string, std::string> overrides = {
      {"sys/devices/system/cpu/isolated", OnlineCpus().ToList() + "\n"}};
  std::function<void(const fs::path&, const fs::path&, const std::string&)> mirror =
      [&](const fs::path& real, const fs::path& fake, const std::string& prefix) {
        fs::create_directories(fake);
        for (const auto& entry : fs::directory_iterator(real)) {
          const std::string rel = prefix + entry.path().filename().string();
          if (auto it = overrides.find(rel); it != overrides.end()) {
            std::ofstream(fake / entry.path().filename()) << it->second;
            continue;
          }
          bool on_the_way = false;
          for (const auto& [path, text] : overrides) on_the_way |= path.rfind(rel + "/", 0) == 0;
          if (on_the_way)
            mirror(entry.path(), fake / entry.path().filename(), rel + "/");
          else
            fs::create_directory_symlink(entry.path(), fake / entry.path().filename());
        }
      };
  mirror("/", farm, "");
  return farm;
}

TEST_F(PinIntegration, UnpinNeverFloatsAGuestOverAnotherVmsDedicatedCpu) {
  TempDir farm_dir;
  const std::string root = IsolateEveryCpu(farm_dir.path() / "root").string();
  const CpuSet online = OnlineCpus();
  std::vector<std::string> names;
  for (unsigned i = 0; i < online.Count(); ++i) {
    names.push_back(hv_->Define("iso" + std::to_string(i), 1, "it.dedicated"));
    hv_->Start(names.back());
  }
  for (const auto& name : names) {
    RunResult r = Agent({"pin", "--root", root, name});
    ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  }
  const std::string freed = names.front();
  const unsigned freed_cpu = OnlyCpu(*Allocation(freed));

  RunResult r = Agent({"unpin", "--root", root, freed});
  // Every CPU is isolated and held: there is nowhere legal to float, so the
  // unpin is refused and the guest keeps its own CPU.
  EXPECT_FALSE(r.end.Exited(0)) << r.Describe();
  EXPECT_NE(r.err.find("stays pinned"), std::string::npos) << r.Describe();
  CpuSet others;
  for (const auto& name : names)
    if (name != freed) others.Add(OnlyCpu(*Allocation(name)));
  const DomainPinning live =
      ReadPinning(hv_->connection(), hv_->Lookup(freed), VIR_DOMAIN_AFFECT_LIVE);
  ASSERT_EQ(live.vcpus.size(), 1u);
  EXPECT_FALSE(live.vcpus[0].Intersects(others))
      << freed << "'s vCPU may run on " << live.vcpus[0].ToList() << ", over the dedicated CPUs "
      << others.ToList() << " of the other guests";
  EXPECT_FALSE(live.emulator && live.emulator->Intersects(others))
      << freed << "'s emulator may run on " << live.emulator->ToList();
  EXPECT_EQ(hv_->VcpuCpus(freed, 0), std::to_string(freed_cpu));
  r = Agent({"audit", "--root", root});
  EXPECT_TRUE(r.end.Exited(0)) << r.Describe();
  ExpectStateIsLibvirtTruth(*hv_, state_.path(), names);
}

}  // namespace
}  // namespace kvhost::it
