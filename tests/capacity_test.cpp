// Capacity on real fixture hosts and variants derived from them. Every expected
// count is worked out by hand in the comments from the fixture's sysfs data.
#include "agent/allocator/capacity.h"

#include <gtest/gtest.h>

#include "agent/catalog/builtin_catalog.h"
#include "allocator_support.h"

namespace kvhost::testing {
namespace {

constexpr const char* kXeon = "hwloc-32intel64-2p8co2t-hugepages";
constexpr const char* kSnc = "nri-server-pmem-isolated";

const Catalog& Seed() {
  static const Catalog catalog = BuiltinCatalog();
  return catalog;
}

TypeCapacity Count(const Allocator& a, const std::string& type) {
  const InstanceType* t = Seed().Find(type);
  EXPECT_NE(t, nullptr) << type;
  return CountFits(a, *t);
}

std::string Joined(const RefusalLines& lines) {
  std::string s;
  for (std::string_view l : lines) s.append(l).append("\n");
  return s;
}

// `count` of `type` fit, and one blocker says `why` (with its numbers).
void ExpectCount(const Allocator& a, const std::string& type, unsigned count,
                 const std::string& why) {
  const TypeCapacity c = Count(a, type);
  EXPECT_EQ(c.count, count) << type;
  EXPECT_NE(Joined(c.blockers).find(why), std::string::npos) << type << ":\n" << Joined(c.blockers);
}

// kXeon: 2 nodes; node0 CPUs 0-7,16-23, node1 8-15,24-31, SMT pairs (k, k+16).
// Real pools: 2048 free 2Mi pages per node (4 GiB), no 1Gi pages, nothing isolated.
// Defaults: reserved = first core of each node {0,16} {8,24}; dedicated = shared
// = the other 28 CPUs (7 cores per node); ratio 4 -> 112 shared vCPU slots.
class XeonAsIs : public ::testing::Test {
 protected:
  HostModel host = LoadFixture(kXeon);
  Allocator a = MakeAllocator(host);
};

TEST_F(XeonAsIs, Cx1LargeIsCappedByTwoMiHugepagesOnePerNode) {
  // 4Gi = 2048 pages of 2Mi: each node's whole pool, so one per node.
  TypeCapacity c = Count(a, "cx1.large");
  EXPECT_EQ(c.count, 2u);
  EXPECT_EQ(Joined(c.blockers).find("no free 2Mi hugepages on any NUMA node (need 2048 for 4Gi)"),
            0u)
      << Joined(c.blockers);
}

TEST_F(XeonAsIs, Cx1MediumFitsTwicePerNode) {
  // 2Gi = 1024 pages: two per node; CPUs are plentiful (7 cores per node).
  EXPECT_EQ(Count(a, "cx1.medium").count, 4u);
}

TEST_F(XeonAsIs, Cx1XlargeSpansBothNodesOnce) {
  // 8Gi = 4096 pages: no node has them, both together do: 2 vCPUs + 2048 pages
  // on each node, guest NUMA cells mirror that split.
  EXPECT_EQ(Count(a, "cx1.xlarge").count, 1u);
  PlaceResult r = a.Place(*Seed().Find("cx1.xlarge"), "vm");
  ASSERT_TRUE(r.placement);
  EXPECT_EQ(r.placement->numa_nodes.size(), 2u);
  ASSERT_EQ(r.placement->guest_cells.size(), 2u);
  EXPECT_EQ(r.placement->guest_cells[0].vcpus.size(), 2u);
  EXPECT_EQ(r.placement->guest_cells[1].memory_kib, 4u * 1024 * 1024);
}

TEST_F(XeonAsIs, SpanningCanBeTurnedOff) {
  AgentConfig config;
  config.allow_numa_span = false;
  Allocator strict = MakeAllocator(host, config);
  ExpectCount(strict, "cx1.xlarge", 0u, "allowNumaSpan: false");
}

TEST_F(XeonAsIs, TwoXlargeIsBeyondEveryNodeAndEveryNodeSet) {
  // 16Gi = 8192 pages; the host has 4096 in all.
  ExpectCount(a, "cx1.2xlarge", 0u, "most: 2048 on node 0; need 8192 for 16Gi");
}

TEST_F(XeonAsIs, SharedTypesAreBoundedByOrdinaryMemoryOrTheRatio) {
  // Ordinary memory: node0 47925628 - 1Gi reserved - 4Gi of pages = 42682748 KiB,
  // node1 49519964 - 5242880 = 44277084 KiB; 86959832 KiB in all.
  // u1.medium 4Gi (4194304 KiB): 20.7 -> 20.
  EXPECT_EQ(Count(a, "u1.medium").count, 20u);
  // o1.medium reserves 4Gi * (1 - 50/100) = 2097152 KiB, as KubeVirt requests: 41.5 -> 41.
  EXPECT_EQ(Count(a, "o1.medium").count, 41u);
  // u1.nano 512Mi would fit 165 by memory, but 28 CPUs x 4 = 112 vCPU slots.
  ExpectCount(a, "u1.nano", 112u, "shared pool full: 112 of 112");
  // m1.large 16Gi = 8192 pages of 2Mi; 4096 free in all.
  ExpectCount(a, "m1.large", 0u, "only 4096 free 2Mi hugepages");
}

TEST_F(XeonAsIs, RatioComesFromTheConfig) {
  AgentConfig config;
  config.shared_cpu_ratio = 1.0;  // 28 CPUs -> 28 slots
  EXPECT_EQ(Count(MakeAllocator(host, config), "u1.nano").count, 28u);
}

TEST_F(XeonAsIs, RealtimeAndGpuTypesSayWhyNot) {
  ExpectCount(a, "rt1.medium", 0u, "not realtime-ready");
  ExpectCount(a, "gn1.xlarge", 0u, "GPU nvidia.com/A400");
  // n1 wants 1Gi pages; the host has none.
  ExpectCount(a, "n1.medium", 0u, "no free 1Gi hugepages on any NUMA node (need 4 for 4Gi)");
}

TEST_F(XeonAsIs, GpusOfferedInTheConfigAreCounted) {
  AgentConfig config;
  config.gpus["nvidia.com/A400"] = 2;
  // Two GPUs, memory for 5 (16Gi each): the GPUs cap it.
  EXPECT_EQ(Count(MakeAllocator(host, config), "gn1.xlarge").count, 2u);
}

TEST_F(XeonAsIs, RealtimeReadyHostTakesRt1OnOneGiPages) {
  // Variant: 8 x 1Gi pages per node, realtime facts ok. rt1.medium = 1 vCPU +
  // emulator, 4Gi = 4 pages: two per node by pages, CPUs to spare.
  ReserveHugepages(host, 1048576, 8);
  MakeRealtimeReady(host);
  EXPECT_EQ(Count(MakeAllocator(host), "rt1.medium").count, 4u);
}

TEST_F(XeonAsIs, WhatIfAddsAndRemovesHypotheticalVms) {
  Allocator copy = a;
  auto lines = ApplyWhatIf(copy, Seed(), ParseWhatIf("add cx1.large=1"));
  EXPECT_EQ(lines.front(), "add cx1.large=1");
  // One node's pages are gone: one cx1.large and two cx1.medium remain (node 1).
  EXPECT_EQ(Count(copy, "cx1.large").count, 1u);
  EXPECT_EQ(Count(copy, "cx1.medium").count, 2u);
  ApplyWhatIf(copy, Seed(), ParseWhatIf("remove cx1.large=1"));
  EXPECT_EQ(Count(copy, "cx1.large").count, 2u);
  EXPECT_THROW(ApplyWhatIf(copy, Seed(), ParseWhatIf("add cx1.large=3")), std::invalid_argument);
  EXPECT_THROW(ParseWhatIf("grow cx1.large"), std::invalid_argument);
  EXPECT_THROW(ParseWhatIf("add cx1.large=0"), std::invalid_argument);
  EXPECT_THROW(ApplyWhatIf(copy, Seed(), ParseWhatIf("add zz1.huge")), std::invalid_argument);
}

// kSnc: 4 CPU nodes (SNC), SMT pairs (k, k+56); node n has CPUs n, n+4, n+8...
// sysfs isolated = 4-7,60-63: exactly one isolated core per node ({4,60} on node 0).
// Variant: 4096 free 2Mi pages per CPU node.
class SncIsolated : public ::testing::Test {
 protected:
  void SetUp() override { ReserveHugepages(host, 2048, 4096); }
  HostModel host = LoadFixture(kSnc);
};

TEST_F(SncIsolated, OneIsolatedCorePerNodeHoldsAnOddVmWithItsEmulatorOnTheIdleSibling) {
  Allocator a = MakeAllocator(host);
  // cx1.medium: its one vCPU takes the node's core {n+4, n+60}; the emulator
  // takes the sibling the vCPU leaves idle (KubeVirt's AlignCPUs layout): 4.
  EXPECT_EQ(Count(a, "cx1.medium").count, 4u);
  PlaceResult r = a.Place(*Seed().Find("cx1.medium"), "vm");
  ASSERT_TRUE(r.placement) << Joined(r.reasons);
  EXPECT_EQ(r.placement->vcpu_cpus, (std::vector<unsigned>{4}));
  EXPECT_EQ(r.placement->emulator_cpu, 60u);
  // cx1.large: 2 vCPUs fill a core and leave no CPU for the emulator on any
  // node. Spanning two nodes, one takes a vCPU and the emulator, the other a
  // vCPU alone: 2 cores per VM, 4 cores -> 2.
  EXPECT_EQ(Count(a, "cx1.large").count, 2u);
  // Without spanning nothing holds it, and the emulator thread is why.
  AgentConfig no_span;
  no_span.allow_numa_span = false;
  ExpectCount(MakeAllocator(host, no_span), "cx1.large", 0u, "emulator thread");
}

TEST_F(SncIsolated, TwoIsolatedCoresPerNodeHoldOneVmEach) {
  // Isolate 4-11,60-67: cores {4,60},{8,64} on node 0, and likewise on 1-3.
  // cx1.large: vCPUs on one core, emulator on the other -> one per node = 4.
  // cx1.medium: vCPU and emulator on one core -> two per node = 8.
  Isolate(host, ParseCpuList("4-11,60-67"));
  Allocator a = MakeAllocator(host);
  EXPECT_EQ(Count(a, "cx1.large").count, 4u);
  EXPECT_EQ(Count(a, "cx1.medium").count, 8u);
  // cx1.xlarge (4 vCPUs = 2 cores + emulator) fits no node; it spans the two
  // closest nodes (3 vCPUs and the emulator on one, 1 vCPU on the other):
  // 0 and 2 are 11 apart (same socket), 0 and 1 are 21.
  PlaceResult r = a.Place(*Seed().Find("cx1.xlarge"), "vm");
  ASSERT_TRUE(r.placement) << Joined(r.reasons);
  EXPECT_EQ(r.placement->numa_nodes, (std::vector<unsigned>{0, 2}));
}

TEST_F(SncIsolated, FragmentationCountsStrandedEmulatorSiblings) {
  // After 4 x cx1.large each node keeps one free CPU (the emulator core's other
  // sibling): below the smallest dedicated need (1 vCPU + 1 emulator = 2), so
  // all 4 free dedicated CPUs are stranded (1.0). Each node keeps 2048 free
  // 2Mi pages, enough for cx1.medium (1024): none stranded (0.0). Mean 0.5.
  Isolate(host, ParseCpuList("4-11,60-67"));
  Allocator a = MakeAllocator(host);
  ApplyWhatIf(a, Seed(), ParseWhatIf("add cx1.large=4"));
  FragmentationScore f = ComputeFragmentation(a, Seed());
  EXPECT_EQ(f.free_dedicated_cpus, 4u);
  EXPECT_EQ(f.stranded_dedicated_cpus, 4u);
  EXPECT_EQ(f.stranded_hugepage_kib, 0u);
  EXPECT_DOUBLE_EQ(f.score, 0.5);
}

TEST(CapacityOnEveryFixture, CountsAreDeliverablePlacements) {
  // Capacity is placement: committing `count` placements must succeed and the
  // next one must be refused with the reported blockers.
  for (const auto& machine : FixtureNames()) {
    SCOPED_TRACE(machine);
    Allocator a = MakeAllocator(LoadFixture(machine));
    for (const auto& type : Seed().types) {
      TypeCapacity c = CountFits(a, type);
      Allocator b = a;
      for (unsigned i = 0; i < c.count; ++i) {
        PlaceResult r = b.Place(type, "x" + std::to_string(i));
        ASSERT_TRUE(r.placement) << type.name << " #" << i;
        b.Commit(*r.placement);
      }
      PlaceResult next = b.Place(type, "next");
      EXPECT_FALSE(next.placement) << type.name;
      EXPECT_EQ(next.reasons, c.blockers) << type.name;
    }
  }
}

}  // namespace
}  // namespace kvhost::testing
