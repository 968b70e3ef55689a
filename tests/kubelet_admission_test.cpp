// kubelet admitting KubeVirt's virt-launcher pods, end to end through the
// ported managers, on a 12-CPU two-socket SMT2 node (kubelet's topoDualSocketHT
// layout) with CPUs 0,6 reserved and 16 GiB per NUMA node. Counts worked by hand.
#include "agent/allocator/kubelet/kubelet_admission.h"

#include <gtest/gtest.h>

namespace kvhost::kubelet {
namespace {

constexpr uint64_t kGi = 1024ull * 1024 * 1024;

KubeletNode Node(StaticPolicyOptions cpu_options, TopologyPolicy topology) {
  std::map<unsigned, CpuPlace> cpus;
  for (unsigned c = 0; c < 12; ++c)
    cpus[c] = {static_cast<int>(c % 6), static_cast<int>(c % 6 % 2), static_cast<int>(c % 6 % 2)};
  StaticPolicy cpu(CpuTopology(cpus), 2, ParseCpuList("0,6"), cpu_options);
  CpuManagerAssignments cpu_state = cpu.InitialState();
  MemoryStaticPolicy memory({{0, 16 * kGi, {}}, {1, 16 * kGi, {}}}, {{0, {{"memory", kGi}}}});
  MemoryManagerAssignments memory_state;
  memory_state.machine = memory.DefaultMachineState();
  return KubeletNode{std::make_shared<const StaticPolicy>(cpu),
                     cpu_state,
                     std::make_shared<const MemoryStaticPolicy>(memory),
                     memory_state,
                     topology,
                     {},
                     NumaInfo{{0, 1}, {{0, {10, 20}}, {1, {20, 10}}}}};
}

InstanceType Dedicated(unsigned vcpus) {
  InstanceType t;
  t.name = "dedicated";
  t.vcpus = vcpus;
  t.memory_kib = 4 * 1024 * 1024;
  t.cpu = CpuPolicy::kDedicated;
  t.isolate_emulator_thread = true;
  return t;
}

TEST(KubeletAdmission, FullPcpusOnlyRejectsAnOddEmulatorTotalAndLeavesTheNodeAsItWas) {
  KubeletNode node = Node({.full_pcpus_only = true}, TopologyPolicy::kSingleNumaNode);
  const CpuSet before = node.cpu_state.default_cpu_set;
  const AdmitResult r = AdmitPod(node, "vm-a", kubevirt::PodFor(Dedicated(2)));  // 2 + 1 = 3 CPUs
  EXPECT_FALSE(r.admitted);
  EXPECT_TRUE(r.reason.starts_with("SMT Alignment Error")) << r.reason;
  EXPECT_EQ(node.cpu_state.default_cpu_set, before);
  EXPECT_TRUE(node.memory_state.entries.empty());
}

TEST(KubeletAdmission, AlignCpusMakesThePodWholeCoresAndSingleNumaNodeFitsOnePerNode) {
  kubevirt::Settings align;
  align.align_cpus = true;  // 2 + 2 = 4 CPUs: two whole cores
  const kubevirt::PodResources pod = kubevirt::PodFor(Dedicated(2), align);
  KubeletNode node = Node({.full_pcpus_only = true}, TopologyPolicy::kSingleNumaNode);
  // node 0 has cores {2,8} {4,10} free (core 0 is reserved), node 1 {1,7} {3,9} {5,11}:
  // one pod each; a third finds 2 CPUs on node 1 and none on node 0.
  EXPECT_EQ(CountAdmitted(node, pod, 10), 2u);
  ASSERT_TRUE(AdmitPod(node, "vm-a", pod).admitted);
  const CpuSet first = node.cpu_state.assignments.at("vm-a").at("compute");
  EXPECT_EQ(first.Count(), 4u);
  // All four on one NUMA node, and its memory block on the same node.
  const bool on_node0 = first.IsSubsetOf(ParseCpuList("0,2,4,6,8,10"));
  EXPECT_TRUE(on_node0 || first.IsSubsetOf(ParseCpuList("1,3,5,7,9,11"))) << first.ToList();
  const auto& blocks = node.memory_state.entries.at("vm-a").at("compute");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].numa_affinity, std::vector<int>{on_node0 ? 0 : 1});
  EXPECT_EQ(blocks[0].size, 4 * kGi + 396ull * 1024 * 1024);
}

TEST(KubeletAdmission, WithoutAlignmentOptionsTheFreeCpusBoundTheCount) {
  // 10 CPUs outside the reserved ones, 3 per pod, topology manager none: 3 pods.
  EXPECT_EQ(CountAdmitted(Node({}, TopologyPolicy::kNone), kubevirt::PodFor(Dedicated(2)), 10), 3u);
}

TEST(KubeletAdmission, SharedPodsTakeNoExclusiveCpusOrMemoryBlocks) {
  InstanceType shared = Dedicated(4);
  shared.cpu = CpuPolicy::kShared;
  shared.isolate_emulator_thread = false;
  KubeletNode node = Node({.full_pcpus_only = true}, TopologyPolicy::kSingleNumaNode);
  ASSERT_TRUE(AdmitPod(node, "vm-s", kubevirt::PodFor(shared)).admitted);
  EXPECT_TRUE(node.cpu_state.assignments.empty());
  EXPECT_TRUE(node.memory_state.entries.empty());
}

// MergeHints answers providers without a preference (every shared pod's
// container) without merging them; the answer must be the merge's: the same
// as for a provider that states "any node, preferred" explicitly.
TEST(KubeletTopologyManager, NoPreferenceMergesAsAnExplicitAnyNodeHint) {
  const std::vector<ProviderHints> none{{}, {{"memory", std::nullopt}}};
  const std::vector<ProviderHints> any{{{"cpu", std::vector<TopologyHint>{{std::nullopt, true}}}},
                                       {}};
  for (const NumaInfo& numa :
       {NumaInfo{{0, 1}, {{0, {10, 20}}, {1, {20, 10}}}}, NumaInfo{{0}, {{0, {10}}}}, NumaInfo{}})
    for (TopologyPolicy policy : {TopologyPolicy::kBestEffort, TopologyPolicy::kRestricted,
                                  TopologyPolicy::kSingleNumaNode})
      for (bool closest : {false, true}) {
        const TopologyPolicyOptions options{.prefer_closest_numa = closest};
        const MergeResult fast = MergeHints(policy, numa, options, none);
        const MergeResult merged = MergeHints(policy, numa, options, any);
        EXPECT_EQ(fast.hint, merged.hint) << numa.nodes.size() << " nodes";
        EXPECT_EQ(fast.admit, merged.admit) << numa.nodes.size() << " nodes";
      }
  // What that answer is on two nodes: both, preferred; single-numa-node says "any".
  const NumaInfo two{{0, 1}, {{0, {10, 20}}, {1, {20, 10}}}};
  EXPECT_EQ(MergeHints(TopologyPolicy::kRestricted, two, {}, none).hint,
            (TopologyHint{NumaMask{3}, true}));
  EXPECT_EQ(MergeHints(TopologyPolicy::kSingleNumaNode, two, {}, none).hint,
            (TopologyHint{std::nullopt, true}));
}

}  // namespace
}  // namespace kvhost::kubelet
