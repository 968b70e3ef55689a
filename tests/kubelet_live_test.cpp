// kubelet mode of the live loader, end to end: a real machine (the fixture
// hwloc-32intel64-2p8co2t-hugepages) with kubelet's files written under its
// root, loaded by LoadLiveHost, counted by capacity. Counts are worked by hand.
//
// The machine: 2 NUMA nodes, 8 cores x 2 threads each; node 0 CPUs 0-7,16-23,
// node 1 CPUs 8-15,24-31; 2048 free 2Mi pages (4Gi) per node; no 1Gi pages;
// 45.71Gi and 47.23Gi of memory. kubelet: static CPU manager, full-pcpus-only,
// reservedSystemCPUs 0,16 (core 0 of node 0), memory manager Static with 1Gi
// reserved per node. So node 0 has 14 CPUs (7 cores) for pods, node 1 16 (8).
// scheduler: cpu allocatable 32 - 2 = 30 CPUs; hugepages-2Mi allocatable 8Gi.
//
// Pods (KubeVirt, kubevirt_pod.h): a dedicated type with isolateEmulatorThread
// asks vCPUs + 1 exclusive CPUs; with full-pcpus-only on SMT2 that count must
// be even, else kubelet refuses it (SMTAlignmentError) unless KubeVirt's
// AlignCPUs rounds the emulator up to 2 CPUs. Memory: guest + virt-launcher
// overhead (a few hundred MiB: never the limit on these counts).
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "agent/allocator/capacity.h"
#include "agent/allocator/kubelet/kubelet_policy.h"
#include "agent/catalog/builtin_catalog.h"
#include "agent/kubelet/kubelet_config.h"
#include "agent/live/live_host.h"
#include "agent_process_support.h"
#include "capacity.pb.h"
#include "damaged_root_support.h"
#include "host_report.pb.h"
#include "kubelet_checkpoint_writer.h"

namespace kvhost {
namespace {

constexpr const char* kKubeletConfig = R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cpuManagerPolicy: static
cpuManagerPolicyOptions:
  full-pcpus-only: "true"
reservedSystemCPUs: "0,16"
topologyManagerPolicy: {}
memoryManagerPolicy: Static
reservedMemory:
- numaNode: 0
  limits: {{memory: 1Gi}}
- numaNode: 1
  limits: {{memory: 1Gi}}
systemReserved: {{memory: 1948Mi}}
)";

// d<n>: n dedicated vCPUs, 4Gi of ordinary memory, isolateEmulatorThread.
InstanceType Dedicated(unsigned vcpus) {
  InstanceType t;
  t.name = "d" + std::to_string(vcpus);
  t.vcpus = vcpus;
  t.memory_kib = 4 * 1024 * 1024;
  t.cpu = CpuPolicy::kDedicated;
  t.isolate_emulator_thread = true;
  return t;
}

const InstanceType& Builtin(const std::string& name) {
  static const Catalog catalog = BuiltinCatalog();
  return *catalog.Find(name);
}

struct KubeletRoot {
  TempDir tmp;
  std::filesystem::path root;
  explicit KubeletRoot(const std::string& topology_policy = "single-numa-node")
      : root(CopyFixture(kIntelHugepages, tmp)) {
    std::filesystem::create_directories(root / "var/lib/kubelet");
    WriteFile(root / "var/lib/kubelet/config.yaml", fmt::format(kKubeletConfig, topology_policy));
  }
  LiveHost Load(bool align_cpus = false) const {
    AgentConfig config;
    config.placement = PlacementSetting::kKubelet;
    config.kubevirt_align_cpus = align_cpus;
    return LoadLiveHost({.root = root,
                         .state_dir = tmp.path() / "none",
                         .config = config,
                         .kubelet_config = {},
                         .running = {}});
  }
};

// The kubelet policy a kubelet-mode load installs; null when the agent places.
const kubelet::KubeletPolicy* KubeletPlacing(const Allocator& state) {
  return dynamic_cast<const kubelet::KubeletPolicy*>(&state.policy());
}

unsigned Count(const Allocator& state, const InstanceType& type) {
  return CountFits(state, type).count;
}

// Admits `n` pods of `type` through kubelet's model and writes the checkpoints
// kubelet would then hold.
Allocator AdmitAndCheckpoint(const KubeletRoot& host, const InstanceType& type, unsigned n) {
  Allocator state = host.Load().allocator;
  for (unsigned i = 0; i < n; ++i) {
    PlaceResult r = state.Place(type, "vm-" + std::to_string(i));
    EXPECT_TRUE(r.placement) << (r.reasons.empty() ? "" : r.reasons.front());
    if (r.placement) state.Commit(std::move(*r.placement));
  }
  testing::WriteKubeletCheckpoints(host.root, KubeletPlacing(state)->node().node);
  return state;
}

TEST(KubeletLive, EmptyHostCountsWhatKubeletWouldAdmit) {
  const KubeletRoot host;  // no checkpoint yet: kubelet's fresh state
  const LiveHost live = host.Load();
  ASSERT_NE(KubeletPlacing(live.allocator), nullptr);
  // d3: 3 + 1 = 4 CPUs (2 whole cores). single-numa-node: node 0 14 / 4 = 3,
  // node 1 16 / 4 = 4: 7 (memory 7 x ~4.2Gi and cpu 7 x 4 = 28 <= 30 both fit).
  EXPECT_EQ(Count(live.allocator, Dedicated(3)), 7u);
  // cx1.medium: 1 + 1 = 2 CPUs, 2Gi of 2Mi pages: 4Gi per node holds 2: 4.
  EXPECT_EQ(Count(live.allocator, Builtin("cx1.medium")), 4u);
  // cx1.large: 2 + 1 = 3 CPUs, odd under full-pcpus-only: kubelet refuses all.
  const TypeCapacity large = CountFits(live.allocator, Builtin("cx1.large"));
  EXPECT_EQ(large.count, 0u);
  ASSERT_FALSE(large.blockers.empty());
  EXPECT_NE(large.blockers.front().find("SMT Alignment Error"), std::string::npos)
      << large.blockers.front();
  // With AlignCPUs the emulator takes 2: 4 CPUs, 4Gi of pages: 1 per node: 2.
  EXPECT_EQ(Count(host.Load(true).allocator, Builtin("cx1.large")), 2u);
}

TEST(KubeletLive, BusyHostFromKubeletsCheckpointsCountsWhatIsLeft) {
  const KubeletRoot host;
  const Allocator admitted = AdmitAndCheckpoint(host, Dedicated(3), 2);
  const LiveHost live = host.Load();
  // Two d3 hold 8 CPUs: 30 - 8 = 22 left for pods; wherever the two went
  // (both on node 0: 6/4 + 16/4 = 1 + 4; one each: 10/4 + 12/4 = 2 + 3): 5.
  EXPECT_EQ(Count(live.allocator, Dedicated(3)), 5u);
  EXPECT_EQ(Count(live.allocator, Dedicated(3)), Count(admitted, Dedicated(3)));
  EXPECT_EQ(live.allocator.HeldCpus().Count(), 8u);
  // Shared (Burstable) pods leave no trace in kubelet's files; o1 counts
  // what the scheduler's fit leaves after the two dedicated pods.
  EXPECT_EQ(Count(live.allocator, Builtin("o1.large")), Count(admitted, Builtin("o1.large")));
}

// What Commit refuses, in its words; "" when it records the placement.
std::string CommitRefusal(Allocator& state, const Placement& p) {
  try {
    state.Commit(p);
  } catch (const AllocationConflict& e) {
    return e.what();
  }
  return "";
}

TEST(KubeletLive, OnlyKubeletsOwnPlacementOnTheNodeAsItIsIsCommitted) {
  const KubeletRoot host;
  Allocator state = host.Load().allocator;
  const CpuSet shared_when_empty = KubeletPlacing(state)->node().node.cpu_state.default_cpu_set;
  const PlaceResult a = state.Place(Dedicated(3), "a");
  const PlaceResult b = state.Place(Dedicated(3), "b");
  ASSERT_TRUE(a.placement && b.placement);
  // A copy of the allocator has the node `a` was admitted to: it commits it,
  // and the original's node and books stay as they were.
  Allocator copy = state;
  EXPECT_EQ(CommitRefusal(copy, *a.placement), "");
  EXPECT_EQ(copy.HeldCpus().Count(), 4u);
  EXPECT_EQ(KubeletPlacing(copy)->node().node.cpu_state.assignments.count("a"), 1u);
  EXPECT_EQ(state.HeldCpus().Count(), 0u);
  EXPECT_TRUE(KubeletPlacing(state)->node().node.cpu_state.assignments.empty());
  // `b` was admitted before `a` was: not to the copy's node as it is now.
  EXPECT_NE(CommitRefusal(copy, *b.placement).find("admitted it to another state of the node"),
            std::string::npos);
  EXPECT_EQ(CommitRefusal(state, *b.placement), "");
  // A placement kubelet did not make is never recorded.
  Placement made = *a.placement;
  made.vm = "c";
  EXPECT_NE(CommitRefusal(state, made).find("only kubelet's own placement"), std::string::npos);
  // Released, `b`'s CPUs go back to kubelet's node and to the books.
  EXPECT_TRUE(state.Release("b"));
  EXPECT_EQ(state.HeldCpus().Count(), 0u);
  EXPECT_EQ(KubeletPlacing(state)->node().node.cpu_state.default_cpu_set, shared_when_empty);
}

TEST(KubeletLive, RestrictedRefusesAPodWiderThanANodeWhoseMemoryFitsOne) {
  // d19: 20 CPUs, more than a node has (16): the CPU manager's only hint is
  // {0,1} (preferred: no narrower mask can hold it); its 4Gi of memory fits one
  // node, so the memory manager prefers {0} or {1} and calls {0,1} not
  // preferred. kubelet marks a merged hint preferred only when every provider
  // preferred the same mask: none is, and restricted refuses it.
  const KubeletRoot host("restricted");
  const TypeCapacity wide = CountFits(host.Load().allocator, Dedicated(19));
  EXPECT_EQ(wide.count, 0u);
  ASSERT_FALSE(wide.blockers.empty());
  EXPECT_NE(wide.blockers.front().find("Topology Affinity Error"), std::string::npos)
      << wide.blockers.front();
}

TEST(KubeletLive, APodSpanningBothNodesLeavesFourCoresOfNodeZero) {
  // best-effort admits d19 with the best of the hints none prefers: the one
  // whose width is the widest provider minimum (the CPUs' 2), {0,1}. The CPU
  // manager takes the whole of node 1 (16) and 4 (2 cores) of node 0; the
  // memory manager puts its memory on the node group {0,1}.
  const KubeletRoot host("best-effort");
  AdmitAndCheckpoint(host, Dedicated(19), 1);
  const LiveHost live = host.Load();
  const kubelet::KubeletNode& node = KubeletPlacing(live.allocator)->node().node;
  const CpuSet& cpus = node.cpu_state.assignments.at("vm-0").at("compute");
  EXPECT_EQ((cpus & ParseCpuList("0-7,16-23")).Count(), 4u) << cpus.ToList();
  EXPECT_EQ((cpus & ParseCpuList("8-15,24-31")).Count(), 16u) << cpus.ToList();
  const auto& blocks = node.memory_state.entries.at("vm-0").at("compute");
  ASSERT_FALSE(blocks.empty());
  EXPECT_EQ(blocks.front().numa_affinity, (std::vector<int>{0, 1}));
  // Node 0 has 14 - 4 = 10 CPUs left and node 1 none: d3 (4 CPUs) twice,
  // then 2 CPUs are left and no mask holds 4: 2. (Node 0 alone can no longer
  // take memory: it is grouped with node 1, so each d3's memory goes to {0,1}.)
  EXPECT_EQ(Count(live.allocator, Dedicated(3)), 2u);
  EXPECT_EQ(live.allocator.HeldCpus().Count(), 20u);
}

TEST(KubeletLive, ABadCheckpointMakesCapacityFailNamingTheFile) {
  const KubeletRoot host;
  AdmitAndCheckpoint(host, Dedicated(3), 1);
  const auto file = host.root / "var/lib/kubelet/cpu_manager_state";
  std::string text = ReadFile(file);
  const auto at = text.find("\"checksum\":");
  ASSERT_NE(at, std::string::npos);
  text.insert(at + 11, "1");  // another checksum
  WriteFile(file, text);
  EXPECT_THROW(host.Load(), InputError);
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_NE(agent, nullptr);
  WriteFile(host.tmp.path() / "agent.yaml", "placement: kubelet\n");
  const it::RunResult r = it::RunProcess({agent, "capacity", "--root", host.root.string(),
                                          "--config", (host.tmp.path() / "agent.yaml").string()});
  EXPECT_FALSE(r.end.Exited(0)) << r.Describe();
  EXPECT_EQ(r.out, "") << r.Describe();
  EXPECT_NE(r.err.find("cpu_manager_state"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("checksum"), std::string::npos) << r.Describe();
}

TEST(KubeletLive, CapacityAndInspectSayWhoPlacesAndWhy) {
  const KubeletRoot host;
  AdmitAndCheckpoint(host, Dedicated(3), 1);
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_NE(agent, nullptr);
  const std::string defaults = (host.tmp.path() / "agent.yaml").string();
  WriteFile(defaults, "");
  // auto: kubelet's CPU manager checkpoint says static.
  const it::RunResult cap =
      it::RunProcess({agent, "capacity", "--root", host.root.string(), "--config", defaults});
  ASSERT_TRUE(cap.end.Exited(0)) << cap.Describe();
  EXPECT_NE(cap.out.find("placement owner: kubelet (auto: "), std::string::npos) << cap.out;
  EXPECT_NE(cap.out.find("policyName static"), std::string::npos) << cap.out;
  const it::RunResult inspect =
      it::RunProcess({agent, "inspect", "--root", host.root.string(), "--config", defaults});
  ASSERT_TRUE(inspect.end.Exited(0)) << inspect.Describe();
  EXPECT_NE(inspect.out.find("placement kubelet (auto: "), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("reservedSystemCPUs 0,16"), std::string::npos) << inspect.out;
}

template <typename Report>
v1::PlacementChoice PlacementInJson(const std::string& json) {
  Report report;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &report);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return report.placement();
}

// inspect's and capacity's `placement` in JSON, from `command -o json` on `root`.
v1::PlacementChoice JsonPlacement(const std::string& command, const std::filesystem::path& root,
                                  const std::string& config) {
  const char* agent = std::getenv("KVHOST_AGENT");
  EXPECT_NE(agent, nullptr);
  if (!agent) return {};
  const it::RunResult r =
      it::RunProcess({agent, command, "--root", root.string(), "--config", config, "-o", "json"});
  EXPECT_TRUE(r.end.Exited(0)) << r.Describe();
  return command == "inspect" ? PlacementInJson<v1::HostReport>(r.out)
                              : PlacementInJson<v1::CapacityReport>(r.out);
}

TEST(KubeletLive, JsonSaysKubeletPlacesWithKubeletsLiveSettings) {
  const KubeletRoot host;
  AdmitAndCheckpoint(host, Dedicated(3), 1);
  const std::string defaults = (host.tmp.path() / "agent.yaml").string();
  WriteFile(defaults, "");
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_NE(agent, nullptr);
  const it::RunResult text =
      it::RunProcess({agent, "inspect", "--root", host.root.string(), "--config", defaults});
  ASSERT_TRUE(text.end.Exited(0)) << text.Describe();
  for (const std::string command : {"capacity", "inspect"}) {
    SCOPED_TRACE(command);
    const v1::PlacementChoice p = JsonPlacement(command, host.root, defaults);
    EXPECT_EQ(p.owner(), "kubelet");
    EXPECT_EQ(p.why(), "auto: " + (host.root / "var/lib/kubelet/cpu_manager_state").string() +
                           " has policyName static");
    ASSERT_TRUE(p.has_kubelet());
    const v1::KubeletSettings& k = p.kubelet();
    EXPECT_EQ(k.source(), (host.root / "var/lib/kubelet/config.yaml").string());
    EXPECT_EQ(k.cpu_manager_policy(), "static");
    ASSERT_EQ(k.cpu_manager_policy_options().size(), 1u);
    EXPECT_EQ(k.cpu_manager_policy_options().at("full-pcpus-only"), "true");
    EXPECT_EQ(k.reserved_system_cpus(), "0,16");
    EXPECT_EQ(k.topology_manager_policy(), "single-numa-node");
    EXPECT_EQ(k.topology_manager_scope(), "container");
    EXPECT_EQ(k.memory_manager_policy(), "Static");
    ASSERT_EQ(k.reserved_memory_size(), 2);
    for (int node = 0; node < 2; ++node) {
      EXPECT_EQ(k.reserved_memory(node).numa_node(), node);
      EXPECT_EQ(k.reserved_memory(node).limits().at("memory"), 1ull << 30);
    }
    // The same disagreements inspect's text warns about, one each.
    for (const auto& line : k.disagreements())
      EXPECT_NE(text.out.find("warning: " + line + "\n"), std::string::npos) << line;
    size_t warnings = 0;
    for (size_t at = text.out.find("warning: "); at != std::string::npos;
         at = text.out.find("warning: ", at + 1))
      ++warnings;
    EXPECT_EQ(static_cast<size_t>(k.disagreements_size()), warnings) << text.out;
  }
}

TEST(KubeletLive, JsonSaysTheAgentPlacesWhereKubeletLeftNoFiles) {
  TempDir tmp;
  const auto root = CopyFixture(kIntelHugepages, tmp);
  const std::string defaults = (tmp.path() / "agent.yaml").string();
  WriteFile(defaults, "");
  for (const std::string command : {"capacity", "inspect"}) {
    SCOPED_TRACE(command);
    const v1::PlacementChoice p = JsonPlacement(command, root, defaults);
    EXPECT_EQ(p.owner(), "agent");
    EXPECT_EQ(p.why(), "auto: no " + (root / "var/lib/kubelet/cpu_manager_state").string());
    EXPECT_FALSE(p.has_kubelet());
  }
}

}  // namespace
}  // namespace kvhost
