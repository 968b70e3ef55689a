// The pinning audit on a real fixture host: placements made by the real
// allocator must be clean, and hand-made pinnings that break one rule each
// must give exactly that violation, on the right domain, CPUs and fix.
//
// kXeon: 2 nodes; node0 CPUs 0-7,16-23, node1 8-15,24-31, SMT pairs (k, k+16).
// Reserved (housekeeping) {0,16} and {8,24}; the dedicated pool is the other
// 28 CPUs, 14 per node on 7 whole cores.
#include "agent/pinning/audit.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "agent/catalog/builtin_catalog.h"
#include "agent/libvirt/desired_pinning.h"
#include "agent/pinning/audit_report.h"
#include "allocator_support.h"

namespace kvhost::testing {
namespace {

constexpr const char* kXeon = "hwloc-32intel64-2p8co2t-hugepages";
constexpr uint64_t k1GiKib = 1024 * 1024;

const Catalog& Seed() {
  static const Catalog catalog = BuiltinCatalog();
  return catalog;
}

CpuSet Cpus(std::initializer_list<unsigned> ids) {
  CpuSet s;
  for (unsigned id : ids) s.Add(id);
  return s;
}

AuditDomain Dedicated(const std::string& name, std::vector<unsigned> vcpu_cpus,
                      std::optional<unsigned> emulator, std::vector<unsigned> memory = {}) {
  AuditDomain d;
  d.name = name;
  d.uuid = name + "-uuid";
  d.dedicated = true;
  for (unsigned cpu : vcpu_cpus) d.actual.vcpus.push_back(Cpus({cpu}));
  if (emulator) d.actual.emulator = Cpus({*emulator});
  d.memory_nodes = std::move(memory);
  return d;
}

AuditDomain Shared(const std::string& name, const CpuSet& pool, unsigned vcpus) {
  AuditDomain d;
  d.name = name;
  d.actual.vcpus.assign(vcpus, pool);
  d.actual.emulator = pool;
  return d;
}

// What libvirt reports once the pinning service applied `p`, with `p` saved as
// the domain's allocation.
AuditDomain FromPlacement(const Placement& p) {
  const InstanceType* found = Seed().Find(p.instance_type);
  if (!found) throw std::invalid_argument("no instance type '" + p.instance_type + "'");
  const InstanceType& type = *found;
  const DesiredPinning pins = PinningForPlacement(p, "domain '" + p.vm + "'", type.vcpus);
  AuditDomain d;
  d.name = p.vm;
  d.dedicated = p.dedicated;
  d.instance_type = p.instance_type;
  d.actual.vcpus = pins.vcpus;
  d.actual.emulator = pins.emulator;
  if (pins.strict_numa_nodes) d.actual.numa = NumaTune{"strict", *pins.strict_numa_nodes};
  d.isolate_emulator_thread = type.isolate_emulator_thread;
  d.realtime = type.realtime;
  d.numa_span_intended = p.numa_nodes.size() > 1;
  d.allocation = p;
  return d;
}

std::string Describe(const std::vector<AuditViolation>& violations) {
  std::string s;
  for (const auto& v : violations)
    s += v.domain + " " + v.rule + " [" + v.cpus.ToList() + "] " + v.detail + " | " + v.fix + "\n";
  return s;
}

class XeonAudit : public ::testing::Test {
 protected:
  std::vector<AuditViolation> Audit(const std::vector<AuditDomain>& domains) const {
    return AuditPinning(resources, domains, &host.numa);
  }
  // Exactly one violation, of `rule`, on `domain`, over `cpus`, with a fix naming the domain.
  AuditViolation ExpectOnly(const std::vector<AuditDomain>& domains, const char* rule,
                            const std::string& domain, const std::string& cpus) const {
    const std::vector<AuditViolation> found = Audit(domains);
    EXPECT_EQ(found.size(), 1u) << Describe(found);
    if (found.empty()) return {};
    EXPECT_EQ(found[0].rule, rule) << Describe(found);
    EXPECT_EQ(found[0].domain, domain) << Describe(found);
    EXPECT_EQ(found[0].cpus.ToList(), cpus) << Describe(found);
    EXPECT_NE(found[0].fix.find(domain), std::string::npos) << found[0].fix;
    return found[0];
  }
  Placement PlaceAndCommit(Allocator& a, const std::string& type, const std::string& vm) const {
    PlaceResult r = a.Place(*Seed().Find(type), vm);
    if (!r.placement) {
      ADD_FAILURE() << type << " does not fit: " << (r.reasons.empty() ? "" : r.reasons[0]);
      return {};
    }
    a.Commit(*r.placement);
    return *r.placement;
  }

  HostModel host = LoadFixture(kXeon);
  HostResources resources = BuildHostResources(host, AgentConfig{});
};

TEST_F(XeonAudit, PlacementsOfTheRealAllocatorAreClean) {
  // 1Gi pages and realtime readiness too, so n1 and rt1 (1Gi pages) fit next to cx1 (2Mi).
  ReserveHugepages(host, k1GiKib, 8);
  MakeRealtimeReady(host);
  resources = BuildHostResources(host, AgentConfig{});
  Allocator a = MakeAllocator(host);
  std::vector<AuditDomain> domains;
  // Dedicated first, shared last: a shared pool is what is left once dedicated CPUs are taken.
  for (const auto& [type, vm] :
       std::vector<std::pair<std::string, std::string>>{{"cx1.medium", "cx-a"},
                                                        {"cx1.large", "cx-b"},
                                                        {"n1.medium", "n1-a"},
                                                        {"rt1.medium", "rt-a"},
                                                        {"cx1.medium", "cx-c"},
                                                        {"u1.large", "u-a"},
                                                        {"o1.small", "o-a"},
                                                        {"u1.medium", "u-b"}})
    domains.push_back(FromPlacement(PlaceAndCommit(a, type, vm)));

  const std::vector<AuditViolation> found = Audit(domains);
  EXPECT_TRUE(found.empty()) << Describe(found);
}

TEST_F(XeonAudit, AllocatorSpanOverNodesIsCleanWhenMarkedIntended) {
  // cx1.xlarge needs 4096 2Mi pages; each node has 2048, so the allocator splits it.
  Allocator a = MakeAllocator(host);
  AuditDomain spanned = FromPlacement(PlaceAndCommit(a, "cx1.xlarge", "cx-x"));
  ASSERT_TRUE(spanned.numa_span_intended);
  EXPECT_TRUE(Audit({spanned}).empty()) << Describe(Audit({spanned}));
  // The audit sees CPUs only: without the mark, 4 vCPUs on two nodes with 14 each is a violation.
  spanned.numa_span_intended = false;
  CpuSet vcpu_cpus;
  for (const CpuSet& pin : spanned.actual.vcpus) vcpu_cpus |= pin;
  ExpectOnly({spanned}, audit_rule::kVcpusSpanNumaNodes, "cx-x", vcpu_cpus.ToList());
}

TEST_F(XeonAudit, SharedDomainPlacedBeforeADedicatedOneIsFlaggedUntilRepinned) {
  // The pinning service must re-pin shared domains whenever dedicated CPUs are taken:
  // both are pinned as allocated, and the saved shared pool is the stale one.
  Allocator a = MakeAllocator(host);
  Placement early_shared = PlaceAndCommit(a, "u1.medium", "u-early");
  AuditDomain dedicated = FromPlacement(PlaceAndCommit(a, "cx1.medium", "cx-late"));
  // cx1.medium's one vCPU takes core {1,17}, its emulator the idle sibling 17.
  const std::vector<AuditViolation> found = Audit({FromPlacement(early_shared), dedicated});
  ASSERT_EQ(found.size(), 1u) << Describe(found);
  EXPECT_EQ(found[0].rule, audit_rule::kCpuSharedBetweenDomains);
  EXPECT_EQ(found[0].cpus.ToList(), "1,17");
  EXPECT_EQ(found[0].domain, "u-early") << Describe(found);

  early_shared.shared_cpus = resources.shared - a.HeldCpus();
  EXPECT_TRUE(Audit({FromPlacement(early_shared), dedicated}).empty());
}

TEST_F(XeonAudit, FloatingDedicatedVcpus) {
  AuditDomain d = Dedicated("a", {3}, 23);
  d.actual.vcpus.insert(d.actual.vcpus.begin(), 2, CpuSet::Range(1, 7));
  const AuditViolation v = ExpectOnly({d}, audit_rule::kVcpuNotPinnedToOneCpu, "a", "1-7");
  EXPECT_NE(v.detail.find("vCPUs 0-1 float over CPUs 1-7"), std::string::npos) << v.detail;
}

TEST_F(XeonAudit, TwoVcpusOnOneCpu) {
  ExpectOnly({Dedicated("a", {1, 1}, 23)}, audit_rule::kVcpusShareCpu, "a", "1");
}

TEST_F(XeonAudit, IsolatedEmulatorOnAVcpuCpu) {
  const AuditViolation v =
      ExpectOnly({Dedicated("a", {1, 17}, 1)}, audit_rule::kEmulatorOnVcpuCpu, "a", "1");
  EXPECT_NE(v.fix.find("move the emulator to a CPU outside the vCPU cores"), std::string::npos);
  // Without isolateEmulatorThread the emulator belongs on the vCPU CPUs (KubeVirt's layout).
  AuditDomain not_isolated = Dedicated("b", {1, 17}, std::nullopt);
  not_isolated.actual.emulator = Cpus({1, 17});
  not_isolated.isolate_emulator_thread = false;
  EXPECT_TRUE(Audit({not_isolated}).empty()) << Describe(Audit({not_isolated}));
}

TEST_F(XeonAudit, OwnEmulatorOnASiblingOfAVcpuIsWrongOnlyForRealtime) {
  AuditDomain rt = Dedicated("a", {1, 2}, 17);
  rt.realtime = true;
  const AuditViolation v = ExpectOnly({rt}, audit_rule::kSmtSiblingShared, "a", "17");
  EXPECT_NE(v.fix.find("move the emulator"), std::string::npos) << v.fix;
  // cx1 and n1 may use the idle sibling of their own vCPU core, as KubeVirt's
  // AlignCPUs layout does for an odd number of vCPUs.
  const AuditDomain cx = Dedicated("a", {1}, 17);
  EXPECT_TRUE(Audit({cx}).empty()) << Describe(Audit({cx}));
}

// What the agent allocated to a dedicated domain: vCPU i on vcpu_cpus[i].
AuditDomain Allocated(AuditDomain d, std::vector<unsigned> vcpu_cpus,
                      std::optional<unsigned> emulator) {
  Placement p;
  p.vm = d.uuid;
  p.dedicated = true;
  p.vcpu_cpus = std::move(vcpu_cpus);
  p.emulator_cpu = emulator;
  d.allocation = p;
  return d;
}

TEST_F(XeonAudit, SharedDomainFloatingOverASiblingOfADedicatedVcpu) {
  // Next to a dedicated domain pinned as allocated, the shared one the agent did not place.
  const AuditDomain a = Allocated(Dedicated("a", {1, 2}, 23), {1, 2}, 23);
  const AuditViolation v = ExpectOnly({a, Shared("s", CpuSet::Range(3, 7) | Cpus({17}), 2)},
                                      audit_rule::kSmtSiblingShared, "s", "17");
  EXPECT_NE(v.fix.find("shared pool"), std::string::npos) << v.fix;
}

// Without saved allocations nothing says which of two domains belongs on the
// CPU: both are named, each with the other, and the fix lets the operator
// choose which one to keep.
void ExpectBothNamed(const std::vector<AuditViolation>& found, const std::string& cpus,
                     const char* rule = audit_rule::kCpuSharedBetweenDomains) {
  ASSERT_EQ(found.size(), 2u) << Describe(found);
  EXPECT_EQ(found[0].domain, "a") << Describe(found);
  EXPECT_EQ(found[1].domain, "b") << Describe(found);
  for (const AuditViolation& v : found) {
    EXPECT_EQ(v.rule, rule);
    EXPECT_EQ(v.cpus.ToList(), cpus);
    EXPECT_NE(v.detail.find(v.domain == "a" ? "'b'" : "'a'"), std::string::npos) << v.detail;
    EXPECT_NE(v.detail.find("no saved allocation says"), std::string::npos) << v.detail;
    EXPECT_NE(
        v.fix.find("run `kvhost-agent pin a` to keep 'a' or `kvhost-agent pin b` to keep 'b'"),
        std::string::npos)
        << v.fix;
  }
}

TEST_F(XeonAudit, AnotherDedicatedVcpuOnASiblingCoreWithoutAllocationsBothAreNamed) {
  ExpectBothNamed(Audit({Dedicated("a", {1, 2}, 23), Dedicated("b", {17}, 22)}), "1,17",
                  audit_rule::kSmtSiblingShared);
}

TEST_F(XeonAudit, TwoDedicatedDomainsOnOneCpuWithoutAllocationsAreBothNamed) {
  // The emulators on 7 and 23 are siblings: emulator threads may share a core.
  ExpectBothNamed(Audit({Dedicated("a", {1, 2}, 7), Dedicated("b", {2, 3}, 23)}), "2");
}

TEST_F(XeonAudit, OfTwoOverlappingDedicatedDomainsTheOneThatLeftItsAllocationIsBlamed) {
  // a, first in the input, moved its vCPU 1 onto b's CPU 3; b is where it was put.
  const AuditDomain a = Allocated(Dedicated("a", {1, 3}, 7), {1, 2}, 7);
  const AuditDomain b = Allocated(Dedicated("b", {3, 4}, 23), {3, 4}, 23);
  const std::vector<AuditViolation> found = Audit({a, b});
  ASSERT_EQ(found.size(), 2u) << Describe(found);
  for (const AuditViolation& v : found) {
    EXPECT_EQ(v.domain, "a") << Describe(found);
    EXPECT_EQ(v.cpus.ToList(), "3") << Describe(found);
    EXPECT_NE(v.fix.find("pin a` to re-apply its allocation"), std::string::npos) << v.fix;
  }
  EXPECT_EQ(found[0].rule, audit_rule::kDriftedFromAllocation);
  EXPECT_NE(found[0].detail.find("vCPU 1 may run on CPUs 3, its allocation says CPUs 2"),
            std::string::npos)
      << found[0].detail;
  EXPECT_EQ(found[1].rule, audit_rule::kCpuSharedBetweenDomains);
  // Next to a domain pinned as allocated, the one the agent did not place is at fault.
  const std::vector<AuditViolation> unplaced = Audit({Dedicated("a", {1, 3}, 7), b});
  ASSERT_EQ(unplaced.size(), 1u) << Describe(unplaced);
  EXPECT_EQ(unplaced[0].domain, "a");
}

TEST_F(XeonAudit, DedicatedEmulatorMovedOntoASharedGuestIsTheDedicatedDomainsFault) {
  // Issue 10: an emulator that belongs with its vCPUs, moved by hand onto the shared pool.
  AuditDomain ded = Allocated(Dedicated("x-1", {1}, 3), {1}, std::nullopt);
  ded.isolate_emulator_thread = false;
  AuditDomain shr = Shared("x-2", CpuSet::Range(3, 7), 1);
  Placement pool;
  pool.vm = shr.uuid;
  pool.shared_cpus = CpuSet::Range(3, 7);
  shr.allocation = pool;
  const std::vector<AuditViolation> found = Audit({ded, shr});
  ASSERT_EQ(found.size(), 2u) << Describe(found);
  for (const AuditViolation& v : found) {
    EXPECT_EQ(v.domain, "x-1") << Describe(found);
    EXPECT_NE(v.fix.find("pin x-1`"), std::string::npos) << v.fix;
  }
  EXPECT_NE(found[1].detail.find("shared domain 'x-2'"), std::string::npos) << found[1].detail;
  // Alone, the drift is still a violation: what reconcile would re-pin.
  const AuditViolation v = ExpectOnly({ded}, audit_rule::kDriftedFromAllocation, "x-1", "3");
  EXPECT_NE(v.detail.find("the emulator may run on CPUs 3, its allocation says CPUs 1"),
            std::string::npos)
      << v.detail;
  // Back where it was allocated, both are clean.
  ded.actual.emulator = Cpus({1});
  EXPECT_TRUE(Audit({ded, shr}).empty()) << Describe(Audit({ded, shr}));
}

TEST_F(XeonAudit, SharedGuestOverADedicatedDomainWithoutAllocationsBothAreNamed) {
  // Issue 10: the shared guest may be the one that belongs there (the dedicated
  // domain was moved onto it by hand); without allocations nothing says which.
  for (const bool shared_first : {true, false}) {
    SCOPED_TRACE(shared_first ? "shared first" : "dedicated first");
    const std::vector<AuditViolation> found =
        shared_first ? Audit({Shared("a", CpuSet::Range(1, 6), 4), Dedicated("b", {1, 17}, 7)})
                     : Audit({Dedicated("a", {1, 17}, 7), Shared("b", CpuSet::Range(1, 6), 4)});
    ExpectBothNamed(found, "1");
    if (found.size() != 2u) continue;
    const AuditViolation& shared = found[shared_first ? 0 : 1];
    const AuditViolation& dedicated = found[shared_first ? 1 : 0];
    EXPECT_NE(shared.detail.find("(shared) floats over CPUs 1 that dedicated domain"),
              std::string::npos)
        << shared.detail;
    EXPECT_NE(dedicated.detail.find("runs on CPUs 1 that shared domain"), std::string::npos)
        << dedicated.detail;
  }
}

TEST_F(XeonAudit, TwoEmulatorsOnOneCpuWithoutAllocationsAreBothNamed) {
  ExpectBothNamed(Audit({Dedicated("a", {1}, 7), Dedicated("b", {2}, 7)}), "7");
}

TEST_F(XeonAudit, VcpusSpreadOverNodesThatOneNodeWouldHold) {
  const AuditViolation v = ExpectOnly({Dedicated("a", {1, 17, 9, 25}, 7, {0, 1})},
                                      audit_rule::kVcpusSpanNumaNodes, "a", "1,9,17,25");
  EXPECT_NE(v.detail.find("node 0 has 14"), std::string::npos) << v.detail;
  // 16 vCPUs fit no node (14 each): the span is the only way.
  std::vector<unsigned> sixteen = {9, 25};
  for (unsigned cpu = 1; cpu <= 7; ++cpu) sixteen.insert(sixteen.end(), {cpu, cpu + 16});
  EXPECT_TRUE(Audit({Dedicated("b", sixteen, 10, {0, 1})}).empty());
}

TEST_F(XeonAudit, MemoryOnAnotherNodeThanTheVcpus) {
  const AuditViolation v =
      ExpectOnly({Dedicated("a", {1, 17}, 7, {1})}, audit_rule::kMemoryOffVcpuNodes, "a", "1,17");
  EXPECT_NE(v.detail.find("bound to nodes 1, its vCPUs run on nodes 0"), std::string::npos)
      << v.detail;
  // Read from numatune when memory_nodes is not filled in.
  AuditDomain from_numatune = Dedicated("b", {1, 17}, 7);
  from_numatune.actual.numa = NumaTune{"strict", Cpus({1})};
  ExpectOnly({from_numatune}, audit_rule::kMemoryOffVcpuNodes, "b", "1,17");
  // Spread further than the vCPUs is also remote memory; the vCPUs' own node alone is clean.
  ExpectOnly({Dedicated("c", {1, 17}, 7, {0, 1})}, audit_rule::kMemoryOffVcpuNodes, "c", "1,17");
  EXPECT_TRUE(Audit({Dedicated("d", {1, 17}, 7, {0})}).empty());
}

TEST_F(XeonAudit, MemoryOnAMemoryOnlyOrMissingNodeIsNamedSo) {
  NumaTopology with_pmem = host.numa;
  with_pmem.nodes.push_back(NumaNode{2, CpuSet(), 64 * k1GiKib, {}});
  const auto found = AuditPinning(resources, {Dedicated("a", {1}, 7, {2, 5})}, &with_pmem);
  ASSERT_EQ(found.size(), 1u) << Describe(found);
  EXPECT_NE(found[0].detail.find("node 2 is memory-only"), std::string::npos) << found[0].detail;
  EXPECT_NE(found[0].detail.find("node 5 does not exist"), std::string::npos) << found[0].detail;
}

TEST_F(XeonAudit, DedicatedCpusOutsideThePool) {
  ExpectOnly({Dedicated("a", {0, 1}, 7)}, audit_rule::kOutsideDedicatedPool, "a", "0");
  ExpectOnly({Dedicated("b", {1, 2}, 16)}, audit_rule::kOutsideDedicatedPool, "b", "16");
}

TEST_F(XeonAudit, NoNumaModelFallsBackToTheAllocatorCores) {
  const auto found = AuditPinning(resources, {Dedicated("a", {1, 17}, 7, {1})});
  ASSERT_EQ(found.size(), 1u) << Describe(found);
  EXPECT_EQ(found[0].rule, audit_rule::kMemoryOffVcpuNodes);
}

TEST_F(XeonAudit, ViolationsAreGroupedByDomainInInputOrder) {
  const auto found =
      Audit({Dedicated("a", {1, 1}, 7), Dedicated("b", {0}, 23), Dedicated("c", {2}, 2)});
  ASSERT_EQ(found.size(), 3u) << Describe(found);
  EXPECT_EQ(found[0].domain, "a");
  EXPECT_EQ(found[1].domain, "b");
  EXPECT_EQ(found[2].domain, "c");
}

TEST(AuditReportTest, ConvertsToTheJsonReport) {
  const std::vector<AuditViolation> violations = {
      {"vm-a", audit_rule::kSmtSiblingShared, Cpus({1, 17}), "detail", "fix"}};
  const v1::AuditReport report = AuditReportToProto(violations, 3);
  ASSERT_EQ(report.violations_size(), 1);
  EXPECT_EQ(report.violations(0).cpus(), "1,17");
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(report, &json).ok());
  EXPECT_EQ(json,
            "{\"violations\":[{\"domain\":\"vm-a\",\"rule\":\"smt-sibling-shared\","
            "\"cpus\":\"1,17\",\"detail\":\"detail\",\"fix\":\"fix\"}],\"domainsChecked\":3}");
}

}  // namespace
}  // namespace kvhost::testing
