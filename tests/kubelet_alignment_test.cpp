// `kubelet-config` prints a KubeletConfiguration that kubelet's own reader
// (ours) takes back with the agent's settings; `inspect` in kubelet mode warns,
// one line each, where the live kubelet config disagrees with the agent's.
#include "agent/kubelet/kubelet_alignment.h"

#include <gtest/gtest.h>

#include "agent/kubelet/kubelet_config.h"
#include "agent_process_support.h"
#include "damaged_root_support.h"

namespace kvhost {
namespace {

constexpr uint64_t kGi = 1024ull * 1024 * 1024;

std::string Agent() {
  const char* agent = std::getenv("KVHOST_AGENT");
  return agent ? agent : "";
}

it::RunResult RunAgentCommand(const std::vector<std::string>& args) {
  std::vector<std::string> argv{Agent()};
  argv.insert(argv.end(), args.begin(), args.end());
  return it::RunProcess(argv);
}

size_t Lines(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1))
    if (at == 0 || text[at - 1] == '\n') ++n;
  return n;
}

TEST(KubeletConfigCommand, PrintsAFragmentKubeletsReaderTakesBackWithTheAgentsSettings) {
  const TempDir tmp;
  const auto root = (FixturesDir() / kIntelHugepages).string();
  WriteFile(tmp.path() / "agent.yaml",
            "reservedCpus: \"0,16\"\nallowNumaSpan: false\nreservedMemoryByNode: {1: 2Gi}\n");
  const it::RunResult r = RunAgentCommand(
      {"kubelet-config", "--root", root, "--config", (tmp.path() / "agent.yaml").string()});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  const kubelet::KubeletConfig c = kubelet::ParseKubeletConfig(r.out, "kubelet-config output");
  EXPECT_EQ(c.cpu_manager_policy, "static");
  EXPECT_TRUE(c.CpuOption("full-pcpus-only"));
  EXPECT_EQ(c.reserved_system_cpus, ParseCpuList("0,16"));
  EXPECT_EQ(c.topology_manager_policy, "single-numa-node");  // allowNumaSpan false
  EXPECT_EQ(c.memory_manager_policy, "Static");
  ASSERT_EQ(c.reserved_memory.size(), 2u);
  EXPECT_EQ(c.reserved_memory[0].numa_node, 0);
  EXPECT_EQ(c.reserved_memory[0].limits.at("memory"), 1 * kGi);  // reservedMemoryPerNode default
  EXPECT_EQ(c.reserved_memory[1].limits.at("memory"), 2 * kGi);
  // kubelet refuses reservedMemory unless it adds up to systemReserved +
  // kubeReserved + the hard eviction threshold: 3Gi = 3Gi - 100Mi + 100Mi.
  EXPECT_EQ(c.system_reserved.at("memory"), "2972Mi");

  // allowNumaSpan true (the default): restricted, the fewest nodes that hold it.
  const it::RunResult spans = RunAgentCommand({"kubelet-config", "--root", root});
  ASSERT_TRUE(spans.end.Exited(0)) << spans.Describe();
  EXPECT_EQ(kubelet::ParseKubeletConfig(spans.out, "out").topology_manager_policy, "restricted");
}

TEST(KubeletInspect, WarnsOneLinePerDisagreementAndNoneWhenKubeletFollowsTheFragment) {
  const TempDir tmp;
  const auto root = CopyFixture(kIntelHugepages, tmp);
  std::filesystem::create_directories(root / "var/lib/kubelet");
  const auto kubelet_yaml = root / "var/lib/kubelet/config.yaml";
  WriteFile(tmp.path() / "agent.yaml", "placement: kubelet\n");
  const std::string agent_config = (tmp.path() / "agent.yaml").string();

  // kubelet configured by the agent's own fragment: nothing to warn about.
  const it::RunResult fragment = RunAgentCommand({"kubelet-config", "--root", root.string()});
  ASSERT_TRUE(fragment.end.Exited(0)) << fragment.Describe();
  WriteFile(kubelet_yaml, fragment.out);
  const it::RunResult agrees =
      RunAgentCommand({"inspect", "--root", root.string(), "--config", agent_config});
  ASSERT_TRUE(agrees.end.Exited(0)) << agrees.Describe();
  EXPECT_NE(agrees.out.find("placement kubelet (config "), std::string::npos) << agrees.out;
  EXPECT_NE(agrees.out.find("cpuManagerPolicy static (full-pcpus-only=true)"), std::string::npos)
      << agrees.out;
  EXPECT_EQ(Lines(agrees.out, "warning: "), 0u) << agrees.out;

  // A kubelet that disagrees on four settings.
  WriteFile(kubelet_yaml,
            "cpuManagerPolicy: static\nreservedSystemCPUs: \"0\"\n"
            "topologyManagerPolicy: best-effort\nmemoryManagerPolicy: None\nunknownKey: 1\n");
  const it::RunResult differs =
      RunAgentCommand({"inspect", "--root", root.string(), "--config", agent_config});
  ASSERT_TRUE(differs.end.Exited(0)) << differs.Describe();
  EXPECT_EQ(Lines(differs.out, "warning: "), 6u) << differs.out;
  for (const char* expected :
       {"reservedSystemCPUs '0' differ from the agent's reservedCpus '0,8,16,24'",
        "full-pcpus-only is off", "topologyManagerPolicy best-effort disagrees",
        "memoryManagerPolicy None", "reservedMemory of NUMA node 0 is none"})
    EXPECT_NE(differs.out.find(expected), std::string::npos) << expected << "\n" << differs.out;
}

TEST(KubeletAlignment, PolicyNoneIsOneLine) {
  kubelet::KubeletConfig live;
  live.source = "config.yaml";
  live.cpu_manager_policy = "none";
  live.topology_manager_policy = "restricted";
  live.memory_manager_policy = "Static";
  live.reserved_system_cpus = ParseCpuList("0");
  live.reserved_memory = {{0, {{"memory", kGi}}}};
  const auto lines = kubelet::Disagreements(live, {ParseCpuList("0"), true, {{0, kGi}}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("cpuManagerPolicy none"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace kvhost
