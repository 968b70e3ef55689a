// kubelet places on this host: the audit judges each running domain against
// its pod's exclusive cpuset from kubelet's cpu_manager_state, on a real
// fixture topology (SMT siblings from its sysfs); `pin` refuses to act and
// `reconcile` only audits (the real binary, on a fixture root with a
// checkpoint carrying kubelet's own checksum, and libvirt's test:/// driver).
#include "agent/pinning/kubelet_audit.h"

#include <gtest/gtest.h>
#include <sched.h>

#include "agent/catalog/builtin_catalog.h"
#include "agent/kubelet/container_runtime.h"
#include "agent/kubelet/go_checksum.h"
#include "agent/pinning/kubelet_irq_steering.h"
#include "agent_process_support.h"
#include "allocator_support.h"
#include "damaged_root_support.h"

namespace kvhost {
namespace {

class KubeletAuditTest : public ::testing::Test {
 protected:
  KubeletAuditTest()
      : host_(BuildHostResources(testing::LoadFixture(kIntelHugepages), AgentConfig{})) {}

  // The two threads of the index-th dedicable core.
  std::pair<unsigned, unsigned> Core(size_t index) const {
    std::vector<unsigned> cores;
    for (size_t i = 0; i < host_.cores.size(); ++i)
      if (host_.cores[i].dedicable) cores.push_back(static_cast<unsigned>(i));
    const auto ids = host_.cores.at(cores.at(index)).pus.Ids();
    EXPECT_EQ(ids.size(), 2u);
    return {ids[0], ids[1]};
  }
  static CpuSet Cpus(std::initializer_list<unsigned> ids) {
    CpuSet s;
    for (unsigned id : ids) s.Add(id);
    return s;
  }
  // A dedicated domain, vCPU i on vcpus[i], the emulator on `emulator`.
  static KubeletAuditDomain Domain(const std::string& name, std::vector<unsigned> vcpus,
                                   unsigned emulator) {
    KubeletAuditDomain k;
    k.domain.name = name;
    k.domain.dedicated = true;
    for (unsigned cpu : vcpus) k.domain.actual.vcpus.push_back(Cpus({cpu}));
    k.domain.actual.emulator = Cpus({emulator});
    return k;
  }
  std::vector<std::string> Rules(const std::vector<AuditViolation>& found) const {
    std::vector<std::string> rules;
    for (const auto& v : found) rules.push_back(v.rule + " " + v.cpus.ToList());
    return rules;
  }

  HostResources host_;
  kubelet::CpuManagerState state_{.policy_name = "static", .default_cpu_set = {}, .entries = {}};
};

TEST_F(KubeletAuditTest, ADomainInsideItsContainersWholeCoresIsClean) {
  const auto [a0, a1] = Core(0);
  const auto [b0, b1] = Core(1);
  state_.entries["pod-a"]["compute"] = Cpus({a0, a1, b0, b1});
  const auto found =
      AuditKubeletPlacement(host_, state_, true, {Domain("default_vm-a", {a0, a1}, b0)});
  EXPECT_TRUE(found.empty()) << Rules(found).front();
}

TEST_F(KubeletAuditTest, AVcpuOutsideItsPodsCpusetIsFoundByPodUid) {
  const auto [a0, a1] = Core(0);
  const auto [b0, b1] = Core(1);
  state_.entries["pod-a"]["compute"] = Cpus({a0, a1});
  state_.entries["pod-b"]["compute"] = Cpus({b0, b1});
  KubeletAuditDomain d = Domain("default_vm-a", {a0, b0}, a1);
  d.pod_uid = "pod-a";
  const auto found = AuditKubeletPlacement(host_, state_, true, {d});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, kubelet_rule::kVcpuOutsideContainerCpuset);
  EXPECT_EQ(found[0].cpus, Cpus({b0}));
  EXPECT_NE(found[0].detail.find("pod pod-a"), std::string::npos) << found[0].detail;

  // Without the pod UID, the container holding most of its vCPUs is its own.
  d = Domain("default_vm-a", {b0, b1, a0}, b0);
  d.domain.isolate_emulator_thread = false;
  const auto by_cpus = AuditKubeletPlacement(host_, state_, true, {d});
  ASSERT_EQ(by_cpus.size(), 1u);
  EXPECT_EQ(by_cpus[0].cpus, Cpus({a0})) << by_cpus[0].detail;
}

TEST_F(KubeletAuditTest, ASiblingGivenToAnotherPodIsAWarningWithTheCpuNumbers) {
  const auto [a0, a1] = Core(0);
  state_.entries["pod-a"]["compute"] = Cpus({a0});
  state_.entries["pod-b"]["compute"] = Cpus({a1});
  KubeletAuditDomain d = Domain("default_vm-a", {a0}, a0);
  d.domain.isolate_emulator_thread = false;
  const auto found = AuditKubeletPlacement(host_, state_, false, {d});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, kubelet_rule::kSiblingGivenToAnotherPod);
  EXPECT_EQ(found[0].cpus, Cpus({a1}));
  EXPECT_NE(found[0].detail.find("full-pcpus-only is off"), std::string::npos) << found[0].detail;
  EXPECT_NE(found[0].detail.find("CPUs " + std::to_string(a1)), std::string::npos);
}

TEST_F(KubeletAuditTest, AnEmulatorOnAVcpuAndARealtimeVcpuNotFifoAreFound) {
  const auto [a0, a1] = Core(0);
  state_.entries["pod-a"]["compute"] = Cpus({a0, a1});
  KubeletAuditDomain d = Domain("default_rt", {a0, a1}, a1);
  d.domain.realtime = true;
  d.vcpu_thread_policies = std::vector<int>{SCHED_FIFO, SCHED_OTHER};
  const auto found = AuditKubeletPlacement(host_, state_, true, {d});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].rule, audit_rule::kEmulatorOnVcpuCpu);
  EXPECT_EQ(found[0].cpus, Cpus({a1}));
  EXPECT_EQ(found[1].rule, kubelet_rule::kRealtimeVcpuNotFifo);
  EXPECT_EQ(found[1].cpus, Cpus({a1}));
}

TEST_F(KubeletAuditTest, ADedicatedDomainOnTheSharedPoolHasNoExclusiveCpuset) {
  const auto [a0, a1] = Core(0);
  const auto found = AuditKubeletPlacement(host_, state_, true, {Domain("default_vm-a", {a0}, a1)});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, kubelet_rule::kNoExclusiveCpuset);
}

TEST(PodUidFromCgroup, ReadsSystemdAndCgroupfsPaths) {
  EXPECT_EQ(PodUidFromCgroup("0::/kubepods.slice/kubepods-burstable.slice/"
                             "kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/"
                             "cri-containerd-0123.scope\n"),
            "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901");
  EXPECT_EQ(PodUidFromCgroup("0::/kubepods/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/0123\n"),
            "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901");
  EXPECT_EQ(PodUidFromCgroup("0::/system.slice/libvirtd.service\n"), std::nullopt);
}

// A fixture root where kubelet's static CPU manager places, its checkpoint
// signed with kubelet's checksum.
std::filesystem::path KubeletRoot(const TempDir& tmp) {
  const auto root = CopyFixture(kIntelHugepages, tmp);
  std::string text =
      R"({"policyName":"static","defaultCpuSet":"0-3,6-31","entries":{"pod-a":{"compute":"4-5"}},"checksum":0})";
  const uint32_t sum = kubelet::Fnv32a(kubelet::SpewCpuCheckpoint(
      kubelet::ParseJsonObject(text), kubelet::CpuCheckpointVersion::kV2));
  text.replace(text.find("\"checksum\":0"), 12, "\"checksum\":" + std::to_string(sum));
  std::filesystem::create_directories(root / "var/lib/kubelet");
  WriteFile(root / "var/lib/kubelet/cpu_manager_state", text);
  return root;
}

TEST(KubeletOwner, PinAndUnpinRefuseNamingTheOwnerAndReconcileOnlyAudits) {
  const TempDir tmp;
  const auto root = KubeletRoot(tmp);
  const std::string agent = std::getenv("KVHOST_AGENT");
  auto run = [&](std::vector<std::string> words) {
    words.insert(words.begin(), agent);
    words.insert(words.end(), {"--root", root.string(), "--connect", "test:///default",
                               "--state-dir", (tmp.path() / "state").string()});
    return it::RunProcess(words);
  };
  for (const char* command : {"pin", "unpin"}) {
    const it::RunResult r = run({command, "test"});
    EXPECT_TRUE(r.end.Exited(1)) << r.Describe();
    EXPECT_NE(r.err.find(std::string(command) + " refused: the placement owner is kubelet"),
              std::string::npos)
        << r.Describe();
    EXPECT_NE(r.err.find("cpu_manager_state has policyName static"), std::string::npos)
        << r.Describe();
  }
  const it::RunResult r = run({"reconcile"});
  EXPECT_TRUE(r.end.Exited(0)) << r.Describe();
  EXPECT_NE(r.out.find("nothing is re-pinned"), std::string::npos) << r.Describe();
  EXPECT_NE(r.out.find("1 running domain(s) checked"), std::string::npos) << r.Describe();
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "state/state.pb"));
}

TEST(ContainerRuntime, KubeletsEndpointFirstThenTheSocketAndWhoSteersIrqs) {
  const TempDir tmp;
  const SysfsRoot root(tmp.path());
  EXPECT_EQ(kubelet::DetectContainerRuntime(root, std::nullopt).runtime,
            kubelet::ContainerRuntime::kUnknown);
  std::filesystem::create_directories(tmp.path() / "run/containerd");
  WriteFile(tmp.path() / "run/containerd/containerd.sock", "");
  const auto by_socket = kubelet::DetectContainerRuntime(root, std::nullopt);
  EXPECT_EQ(by_socket.runtime, kubelet::ContainerRuntime::kContainerd);
  EXPECT_NE(by_socket.why.find("containerd.sock exists"), std::string::npos) << by_socket.why;

  const auto config = kubelet::ParseKubeletConfig(
      "containerRuntimeEndpoint: unix:///var/run/crio/crio.sock\n", "config.yaml");
  const auto by_config = kubelet::DetectContainerRuntime(root, config);
  EXPECT_EQ(by_config.runtime, kubelet::ContainerRuntime::kCrio);
  EXPECT_NE(by_config.why.find("containerRuntimeEndpoint"), std::string::npos) << by_config.why;

  // CRI-O steers IRQs for its pods; containerd does not; libvirt hosts have no runtime.
  EXPECT_FALSE(kubelet::AgentSteersIrqs(true, kubelet::ContainerRuntime::kCrio));
  EXPECT_TRUE(kubelet::AgentSteersIrqs(true, kubelet::ContainerRuntime::kContainerd));
  EXPECT_TRUE(kubelet::AgentSteersIrqs(false, kubelet::ContainerRuntime::kCrio));
}

// On a tree shaped like /proc/irq: the VM's CPUs lose their device IRQs while
// it runs and get them back when it is gone; a VM that does not ask keeps them.
TEST(KubeletIrqSteering, SteersOffAnAskingVmsCpusAndGivesThemBackWhenItGoes) {
  const TempDir tmp;
  const auto file = [&](unsigned irq) {
    return tmp.path() / ("proc/irq/" + std::to_string(irq) + "/smp_affinity_list");
  };
  for (unsigned irq : {24u, 25u}) {
    std::filesystem::create_directories(file(irq).parent_path());
    WriteFile(file(irq), "0-7\n");
  }
  KubeletIrqSteering steering(SysfsRoot(tmp.path()), CpuSet::Range(0, 3));
  static const Catalog catalog = BuiltinCatalog();
  const InstanceType* n1 = catalog.Find("n1.large");
  ASSERT_TRUE(n1 && n1->irq_load_balancing_disabled);
  LiveDomain vm{.name = "default_vm-a",
                .uuid = "uuid-a",
                .uri = "test:///default",
                .type = *n1,
                .pinning = {.vcpus = {CpuSet::Range(4, 4), CpuSet::Range(5, 5)},
                            .emulator = std::nullopt,
                            .numa = std::nullopt}};
  LiveDomain plain = vm;
  plain.uuid = "uuid-b";
  plain.type->irq_load_balancing_disabled = false;
  plain.pinning.vcpus = {CpuSet::Range(6, 6)};

  EXPECT_EQ(steering.Update({.connected_uris = {}, .domains = {vm, plain}}).size(), 1u);
  EXPECT_EQ(ReadFile(file(24)), "0-3,6-7\n");
  EXPECT_EQ(ReadFile(file(25)), "0-3,6-7\n");
  EXPECT_EQ(steering.steered().count("uuid-b"), 0u);
  // Steered once: a second pass would save steered affinities as the originals.
  EXPECT_TRUE(steering.Update({.connected_uris = {}, .domains = {vm, plain}}).empty());

  EXPECT_EQ(steering.Update({.connected_uris = {}, .domains = {plain}}).size(), 1u);
  EXPECT_EQ(ReadFile(file(24)), "0-7\n");
  EXPECT_TRUE(steering.steered().empty());
}

}  // namespace
}  // namespace kvhost
