// The pinning service against libvirt's real test:/// driver, with the host
// model of a real fixture machine (hwloc-16amd64-4n4c-hugepages: 4 nodes of 4
// CPUs, no SMT), derived to have 2048 free 2Mi pages (4 GiB of its 8) per node. Defaults:
// reserved 0,4,8,12 (first core of each node); dedicated = shared = the rest.
#include "agent/pinning/pinner.h"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <atomic>
#include <filesystem>

#include "agent/catalog/builtin_catalog.h"
#include "agent/daemon/watch_loop.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/audit.h"
#include "allocator_support.h"

namespace kvhost::testing {
namespace {

namespace fs = std::filesystem;

std::string PinnerNodeUri() {
  const char* source = std::getenv("KVHOST_SOURCE_DIR");
  return std::string("test://") + (source ? source : ".") + "/tests/data/libvirt/pinner-node.xml";
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x.rfind(s, 0) == 0) return true;
  return false;
}

class PinnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HostModel model = LoadFixture("hwloc-16amd64-4n4c-hugepages");
    ReserveHugepages(model, 2048, 2048);
    host = std::make_shared<const HostResources>(BuildHostResources(model, AgentConfig{}));
    state_dir = fs::temp_directory_path() /
                ("kvhost-pinner-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(state_dir);
  }
  void TearDown() override { fs::remove_all(state_dir); }

  std::unique_ptr<Pinner> NewPinner() {
    auto p = std::make_unique<Pinner>(host, BuiltinCatalog(), StateStore(state_dir));
    p->AddConnection(&connection);
    return p;
  }
  DomainPinning Actual(const std::string& name) {
    return ReadPinning(connection, connection.LookupDomain(name), VIR_DOMAIN_AFFECT_CURRENT);
  }

  std::shared_ptr<const HostResources> host;
  fs::path state_dir;
  LibvirtConnection connection = LibvirtConnection::Open(PinnerNodeUri());
};

TEST_F(PinnerTest, FreshReconcilePlacesAndPinsEveryRunningDomain) {
  auto pinner = NewPinner();
  const ReconcileReport r = pinner->Reconcile();
  EXPECT_TRUE(r.state_was_rebuilt);  // no state file yet
  std::string said;
  for (const auto& p : r.problems) said += p + "\n";
  for (const auto& p : r.placed) said += "placed " + p + "\n";
  EXPECT_TRUE(Has(r.placed, "kv-cx1") && Has(r.placed, "kv-u1") && Has(r.placed, "kv-mystery"))
      << said;
  EXPECT_TRUE(Has(r.problems, "kv-rt")) << "rt1 needs a realtime-ready host";
  EXPECT_FALSE(Has(r.placed, "kv-off"));
  // cx1.large: node 0 is the tightest fit (all equal, lowest first): vCPUs on
  // CPUs 1 and 2, the emulator on 3, memory strict on node 0.
  const DomainPinning cx1 = Actual("kv-cx1");
  ASSERT_EQ(cx1.vcpus.size(), 2u);
  EXPECT_EQ(cx1.vcpus[0].ToList(), "1");
  EXPECT_EQ(cx1.vcpus[1].ToList(), "2");
  ASSERT_TRUE(cx1.emulator);
  EXPECT_EQ(cx1.emulator->ToList(), "3");
  ASSERT_TRUE(cx1.numa);
  EXPECT_EQ(cx1.numa->nodeset.ToList(), "0");
  // Shared guests float on what is left of the shared pool.
  EXPECT_EQ(Actual("kv-u1").vcpus[0].ToList(), "5-7,9-11,13-15");
  EXPECT_EQ(Actual("kv-mystery").vcpus[2].ToList(), "5-7,9-11,13-15");
  EXPECT_EQ(pinner->vms().at("a0000000-0000-4000-8000-000000000003").type_source.find("unknown"),
            0u);
  EXPECT_TRUE(fs::exists(state_dir / "state.pb"));
}

TEST_F(PinnerTest, WhatTheAgentPinnedAuditsClean) {
  auto pinner = NewPinner();
  pinner->Reconcile();
  std::vector<AuditDomain> domains;
  for (const auto& s : connection.ListDomainSummaries()) {
    if (!s.active) continue;
    AuditDomain d;
    d.name = s.name;
    d.uuid = s.uuid;
    d.actual = Actual(s.name);
    const Catalog catalog = BuiltinCatalog();
    if (s.instance_type && catalog.Find(*s.instance_type)) {
      d.dedicated = catalog.Find(*s.instance_type)->Dedicated();
      d.isolate_emulator_thread = catalog.Find(*s.instance_type)->isolate_emulator_thread;
      d.realtime = catalog.Find(*s.instance_type)->realtime;
    }
    domains.push_back(d);
  }
  ASSERT_EQ(domains.size(), 4u);
  // Only kv-rt, which no realtime-ready host took, floats where a dedicated
  // domain must not: every placement the agent made passes every rule.
  const auto violations = AuditPinning(*host, domains);
  EXPECT_FALSE(violations.empty());
  for (const auto& v : violations)
    EXPECT_TRUE(v.domain == "kv-rt" || v.detail.find("'kv-rt'") != std::string::npos)
        << v.rule << ": " << v.detail;
}

TEST_F(PinnerTest, ARestartKeepsTheStateAndTouchesNothing) {
  NewPinner()->Reconcile();
  auto restarted = NewPinner();
  const ReconcileReport r = restarted->Reconcile();
  EXPECT_FALSE(r.state_was_rebuilt);
  // By name, whatever order libvirt lists them in.
  EXPECT_EQ(r.kept, (std::vector<std::string>{"kv-cx1", "kv-mystery", "kv-u1"}));
  EXPECT_TRUE(r.repinned.empty());
  EXPECT_TRUE(r.placed.empty());
  EXPECT_EQ(restarted->vms().at("a0000000-0000-4000-8000-000000000001").type_source, "metadata")
      << "how its type was found is kept with the allocation";
}

// The daemon's allocator rebuilt (SIGHUP, a hotplug) lends its qualification
// run's CPUs to the new pinner before that reconciles: a domain that fits
// elsewhere goes there, and the run goes on.
TEST_F(PinnerTest, AReconcilePlacesBesideTheLoanWhereTheDomainFitsElsewhere) {
  auto pinner = NewPinner();
  bool preempted = false;
  pinner->Lend({.name = "qualification",
                .cpus = ParseCpuList("1-3"),
                .preempted = [&](const CpuSet&) { preempted = true; }});
  const ReconcileReport r = pinner->Reconcile();
  EXPECT_TRUE(Has(r.placed, "kv-cx1"));
  EXPECT_FALSE(preempted) << "kv-cx1 fits on node 1 as well";
  EXPECT_TRUE(pinner->loan().has_value());
  EXPECT_EQ(Actual("kv-cx1").vcpus[0].ToList(), "5");
  EXPECT_TRUE(pinner->allocator().placements().count("qualification")) << "still lent";
}

TEST_F(PinnerTest, AReconcilePlacesOverTheLoanOnlyWhereNothingElseFitsAndStopsTheRunFirst) {
  auto pinner = NewPinner();
  CpuSet needed;
  pinner->Lend({.name = "qualification",
                .cpus = ParseCpuList("1-3,5-7,9-11,13-15"),
                .preempted = [&](const CpuSet& cpus) { needed = cpus; }});
  const ReconcileReport r = pinner->Reconcile();
  EXPECT_TRUE(Has(r.placed, "kv-cx1"));
  EXPECT_EQ(needed.ToList(), "1-3");
  EXPECT_FALSE(pinner->loan().has_value());
  EXPECT_FALSE(pinner->allocator().placements().count("qualification"));
}

TEST_F(PinnerTest, ARestartDoesNotCountARunningVmsHugepagesTwice) {
  NewPinner()->Reconcile();  // kv-cx1: 2048 x 2Mi pages on node 0
  // The agent restarts: discovery now sees node 0's pages taken by kv-cx1's QEMU.
  HostModel model = LoadFixture("hwloc-16amd64-4n4c-hugepages");
  ReserveHugepages(model, 2048, 2048);
  for (auto& pool : model.hugepages.per_node[0])
    if (pool.size_kib == 2048) pool.free = 0;
  auto rediscovered =
      std::make_shared<const HostResources>(BuildHostResources(model, AgentConfig{}));
  Pinner restarted(rediscovered, BuiltinCatalog(), StateStore(state_dir));
  restarted.AddConnection(&connection);
  const ReconcileReport r = restarted.Reconcile();
  EXPECT_TRUE(Has(r.kept, "kv-cx1")) << (r.problems.empty() ? "" : r.problems.front());
  EXPECT_TRUE(r.problems.size() == 1 && Has(r.problems, "kv-rt")) << "only rt1 may be a problem";
  // Node 0 has no page to spare, the other nodes all of theirs.
  EXPECT_EQ(restarted.allocator().FreeHugepages(0, 2048), 0u);
  EXPECT_EQ(restarted.allocator().FreeHugepages(1, 2048), 2048u);
  // When kv-cx1 goes, its pages come back.
  EXPECT_TRUE(restarted.Forget("a0000000-0000-4000-8000-000000000001"));
  EXPECT_EQ(restarted.allocator().FreeHugepages(0, 2048), 2048u);
}

TEST_F(PinnerTest, AnUnreachableLibvirtFreesNothing) {
  NewPinner()->Reconcile();
  // Restarted while libvirt is down: no connection at all.
  Pinner blind(host, BuiltinCatalog(), StateStore(state_dir));
  const ReconcileReport r = blind.Reconcile();
  EXPECT_TRUE(r.freed.empty());
  EXPECT_EQ(r.kept.size(), 3u);
  EXPECT_EQ(blind.allocator().placements().size(), 3u);
  // And the state file still holds them for the next reconcile that can see libvirt.
  const ReconcileReport later = NewPinner()->Reconcile();
  EXPECT_EQ(later.kept.size(), 3u);
  EXPECT_TRUE(later.freed.empty());
}

TEST_F(PinnerTest, TheDomainAboutToBePinnedIsLeftToThePin) {
  auto pinner = NewPinner();
  const ReconcileReport r = pinner->Reconcile("kv-mystery");
  EXPECT_FALSE(Has(r.placed, "kv-mystery"));
  EXPECT_EQ(pinner->allocator().placements().count("a0000000-0000-4000-8000-000000000003"), 0u);
  const PinOutcome out = pinner->Pin(connection.uri(), "kv-mystery");
  EXPECT_FALSE(out.already_pinned);
  EXPECT_EQ(out.type_source.find("unknown"), 0u);
}

TEST_F(PinnerTest, DriftIsRepinned) {
  NewPinner()->Reconcile();
  // Someone moved vCPU 0 of kv-cx1 to CPU 5 behind the agent's back.
  unsigned char map[2] = {0x20, 0x00};
  ASSERT_EQ(virDomainPinVcpu(connection.LookupDomain("kv-cx1").raw(), 0, map, 2), 0);
  const ReconcileReport r = NewPinner()->Reconcile();
  EXPECT_TRUE(Has(r.repinned, "kv-cx1"));
  EXPECT_EQ(Actual("kv-cx1").vcpus[0].ToList(), "1");
}

TEST_F(PinnerTest, ALostStateFileIsRebuiltFromLibvirtPinning) {
  NewPinner()->Reconcile();
  fs::remove(state_dir / "state.pb");
  auto pinner = NewPinner();
  const ReconcileReport r = pinner->Reconcile();
  EXPECT_TRUE(r.state_was_rebuilt);
  EXPECT_TRUE(Has(r.adopted, "kv-cx1")) << "its one-CPU-per-vCPU pinning says where it is";
  const Placement& p = pinner->allocator().placements().at("a0000000-0000-4000-8000-000000000001");
  EXPECT_EQ(p.vcpu_cpus, (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(p.emulator_cpu, std::optional<unsigned>(3));
  EXPECT_TRUE(r.repinned.empty());
}

TEST_F(PinnerTest, ACorruptStateFileIsMovedAsideAndRebuilt) {
  NewPinner()->Reconcile();
  {
    std::FILE* f = std::fopen((state_dir / "state.pb").c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 30, SEEK_SET);
    std::fputc(0x5a, f);
    std::fclose(f);
  }
  auto pinner = NewPinner();
  const ReconcileReport r = pinner->Reconcile();
  EXPECT_TRUE(r.state_was_rebuilt);
  EXPECT_EQ(pinner->allocator().placements().size(), 3u) << "nothing is lost";
  bool moved_aside = false;
  for (const auto& e : fs::directory_iterator(state_dir))
    moved_aside |= e.path().filename().string().rfind("state.pb.corrupt-", 0) == 0;
  EXPECT_TRUE(moved_aside);
}

TEST_F(PinnerTest, AStoppedDomainIsFreedAndSharedGuestsSpreadBack) {
  NewPinner()->Reconcile();
  ASSERT_EQ(virDomainDestroy(connection.LookupDomain("kv-cx1").raw()), 0);
  auto pinner = NewPinner();
  const ReconcileReport r = pinner->Reconcile();
  EXPECT_TRUE(Has(r.freed, "kv-cx1")) << "reports name the domain";
  EXPECT_TRUE(pinner->allocator().HeldCpus().Empty());
  EXPECT_EQ(Actual("kv-u1").vcpus[0].ToList(), "1-3,5-7,9-11,13-15");
}

TEST_F(PinnerTest, UnpinFreesTheCoresAndPinIsIdempotent) {
  auto pinner = NewPinner();
  pinner->Reconcile();
  const PinOutcome again = pinner->Pin(connection.uri(), "kv-cx1");
  EXPECT_TRUE(again.already_pinned);
  // Its IOThread does I/O emulation: it goes with the emulator, off the vCPU cores.
  EXPECT_EQ(again.applied.iothreads_pinned, 1u);
  virDomainIOThreadInfoPtr* info = nullptr;
  ASSERT_EQ(virDomainGetIOThreadInfo(connection.LookupDomain("kv-cx1").raw(), &info, 0), 1);
  CpuSet iothread_cpus;
  for (int cpu = 0; cpu < info[0]->cpumaplen * 8; ++cpu)
    if (VIR_CPU_USABLE(info[0]->cpumap, info[0]->cpumaplen, 0, cpu))
      iothread_cpus.Add(static_cast<unsigned>(cpu));
  virDomainIOThreadInfoFree(info[0]);
  free(info);
  EXPECT_EQ(iothread_cpus.ToList(), "3");
  EXPECT_TRUE(pinner->Unpin(connection.uri(), "kv-cx1"));
  EXPECT_TRUE(pinner->allocator().HeldCpus().Empty());
  EXPECT_EQ(Actual("kv-cx1").vcpus[0].ToList(), "1-3,5-7,9-11,13-15")
      << "it floats with the shared guests";
  EXPECT_THROW(pinner->Pin(connection.uri(), "kv-off"), std::invalid_argument);
  EXPECT_THROW(pinner->Pin(connection.uri(), "kv-rt"), std::runtime_error);
}

TEST_F(PinnerTest, AnUnpinLastsAcrossPinnerRestartsUntilTheDomainRestarts) {
  auto pinner = NewPinner();
  pinner->Reconcile();
  const std::string uuid = connection.LookupDomain("kv-cx1").uuid();
  ASSERT_TRUE(pinner->Unpin(connection.uri(), "kv-cx1"));
  pinner.reset();

  // A new pinner (an agent restart) knows of the unpin from the state file only.
  auto restarted = NewPinner();
  ReconcileReport r = restarted->Reconcile();
  EXPECT_TRUE(Has(r.left_unpinned, "kv-cx1"));
  EXPECT_FALSE(Has(r.placed, "kv-cx1") || Has(r.adopted, "kv-cx1"));
  EXPECT_FALSE(restarted->vms().count(uuid));
  restarted.reset();
  EXPECT_TRUE(Has(NewPinner()->Reconcile().left_unpinned, "kv-cx1")) << "a reconcile forgot it";

  // Stopped and started again: a new instance, placed as usual.
  const LibvirtDomain domain = connection.LookupDomain("kv-cx1");
  ASSERT_EQ(virDomainDestroy(domain.raw()), 0);
  ASSERT_EQ(virDomainCreate(domain.raw()), 0);
  auto after_restart = NewPinner();
  r = after_restart->Reconcile();
  EXPECT_FALSE(Has(r.left_unpinned, "kv-cx1"));
  EXPECT_TRUE(after_restart->vms().count(uuid)) << "not placed after its restart";
}

TEST_F(PinnerTest, LifecycleEventsPinStartedDomainsAndFreeStoppedOnes) {
  // The watch loop opens its own connection (its own copy of the node).
  Pinner pinner(host, BuiltinCatalog(), StateStore(state_dir));
  ConnectionSet connections({PinnerNodeUri()}, std::nullopt);
  std::atomic<bool> started_seen{false}, stopped_seen{false};
  WatchOptions options;
  options.refresh_interval = std::chrono::milliseconds(100);
  options.on_ready = [&] {
    const LibvirtConnection* c = connections.Open().front();
    virDomainPtr d = virDomainLookupByName(c->raw(), "kv-off");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(virDomainCreate(d), 0);  // -> STARTED -> placed and pinned
    virDomainFree(d);
  };
  options.on_event_handled = [&](const std::string& what) {
    const LibvirtConnection* c = connections.Open().front();
    if (what == "started kv-off") {
      started_seen =
          pinner.allocator().placements().count("a0000000-0000-4000-8000-000000000005") == 1;
      virDomainPtr d = virDomainLookupByName(c->raw(), "kv-off");
      EXPECT_EQ(virDomainDestroy(d), 0);  // -> STOPPED -> freed
      virDomainFree(d);
    }
    if (what == "stopped kv-off")
      stopped_seen =
          pinner.allocator().placements().count("a0000000-0000-4000-8000-000000000005") == 0;
  };
  options.stop_requested = [&] { return stopped_seen.load(); };
  RunWatchLoop(pinner, connections, options, std::chrono::seconds(10));
  EXPECT_TRUE(started_seen);
  EXPECT_TRUE(stopped_seen);
}

}  // namespace
}  // namespace kvhost::testing
