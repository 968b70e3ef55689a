// /etc/kvhost-agent/config.yaml: defaults, every key, and the errors a typo
// or a contradiction on a production host must raise.
#include <gtest/gtest.h>

#include "agent/config/config_loader.h"
#include "tests/catalog_test_data.h"

namespace kvhost {
namespace {

using testing::TestDataFile;

void ExpectDefaults(const AgentConfig& config) {
  const AgentConfig defaults;
  EXPECT_FALSE(config.reserved_cpus.has_value());
  EXPECT_EQ(config.reserved_memory_kib_per_node, defaults.reserved_memory_kib_per_node);
  EXPECT_TRUE(config.reserved_memory_kib_by_node.empty());
  EXPECT_FALSE(config.dedicated_cpus.has_value());
  EXPECT_EQ(config.shared_cpu_ratio, defaults.shared_cpu_ratio);
  EXPECT_EQ(config.allow_numa_span, defaults.allow_numa_span);
  EXPECT_TRUE(config.gpus.empty());
}

void ExpectConfigError(const std::string& yaml, unsigned line, const std::string& reason_part) {
  try {
    ParseAgentConfigYaml(yaml, "config.yaml");
    ADD_FAILURE() << "no error; expected line " << line << ": " << reason_part;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "config.yaml");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()), "config.yaml:" + std::to_string(line) + ": " + e.reason());
  }
}

TEST(AgentConfig, AMissingOptionalFileMeansTheDefaults) {
  const AgentConfig config = LoadAgentConfig("/nonexistent/kvhost-agent/config.yaml", false);
  ExpectDefaults(config);
  EXPECT_EQ(config.source, "defaults");
}

TEST(AgentConfig, AMissingRequiredFileIsAnError) {
  try {
    LoadAgentConfig("/nonexistent/kvhost-agent/config.yaml", true);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/kvhost-agent/config.yaml: no such file");
    EXPECT_EQ(e.line(), 0u);
  }
}

TEST(AgentConfig, ADirectoryIsNotAConfigFile) {
  const std::filesystem::path data_dir = TestDataFile("");
  EXPECT_THROW(LoadAgentConfig(data_dir, false), ConfigError);
}

TEST(AgentConfig, TheExampleFileSetsEveryKey) {
  const auto path = TestDataFile("agent-config-example.yaml");
  const AgentConfig config = LoadAgentConfig(path, true);
  ASSERT_TRUE(config.reserved_cpus.has_value());
  EXPECT_EQ(config.reserved_cpus->ToList(), "0-1,64-65");
  EXPECT_EQ(config.reserved_memory_kib_per_node, 2u * 1024 * 1024);
  EXPECT_EQ(config.reserved_memory_kib_by_node,
            (std::map<unsigned, uint64_t>{{0, 4u * 1024 * 1024}}));
  ASSERT_TRUE(config.dedicated_cpus.has_value());
  EXPECT_EQ(config.dedicated_cpus->ToList(), "2-31,34-63,66-95,98-127");
  EXPECT_EQ(config.shared_cpu_ratio, 8.0);
  EXPECT_FALSE(config.allow_numa_span);
  EXPECT_EQ(config.gpus, (std::map<std::string, unsigned>{{"nvidia.com/A400", 4}}));
  EXPECT_EQ(config.source, path.string());
}

TEST(AgentConfig, EmptyFilesAndNullValuesKeepTheDefaults) {
  ExpectDefaults(ParseAgentConfigYaml("", "config.yaml"));
  ExpectDefaults(ParseAgentConfigYaml("# all defaults\n---\n", "config.yaml"));
  ExpectDefaults(ParseAgentConfigYaml("reservedCpus:\ndedicatedCpus: ~\nsharedCpuRatio: null\n",
                                      "config.yaml"));
  EXPECT_EQ(ParseAgentConfigYaml("", "config.yaml").source, "config.yaml");
}

TEST(AgentConfig, ReadsFractionalRatiosAndExplicitlyEmptyCpuSets) {
  const AgentConfig config =
      ParseAgentConfigYaml("sharedCpuRatio: 1.5\ndedicatedCpus: \"\"\n", "config.yaml");
  EXPECT_EQ(config.shared_cpu_ratio, 1.5);
  ASSERT_TRUE(config.dedicated_cpus.has_value());  // "" means: dedicate nothing, not the default
  EXPECT_TRUE(config.dedicated_cpus->Empty());
}

TEST(AgentConfig, AnUnknownKeyIsAnErrorThatSuggestsTheSpelling) {
  ExpectConfigError("sharedCpuRatio: 2\nreservedCPUs: 0-1\n", 2,
                    "unknown key 'reservedCPUs' (did you mean 'reservedCpus'?)");
  ExpectConfigError("cpuRatio: 2\n", 1, "unknown key 'cpuRatio' (known keys: reservedCpus");
  ExpectConfigError("reservedCPUs:\n", 1, "unknown key 'reservedCPUs'");  // even with no value
}

TEST(AgentConfig, CpuListsUseTheKernelSyntax) {
  ExpectConfigError("reservedCpus: 3-1\n", 1, "reservedCpus: range '3-1' runs backwards");
  ExpectConfigError("dedicatedCpus: 2,,4\n", 1, "dedicatedCpus: empty item");
  ExpectConfigError("reservedCpus: [0, 1]\n", 1, "reservedCpus must be a single value");
}

TEST(AgentConfig, MemoryReservationsAreQuantitiesPerNode) {
  ExpectConfigError("reservedMemoryPerNode: 2GB\n", 1, "reservedMemoryPerNode: bad quantity '2GB'");
  ExpectConfigError("reservedMemoryByNode:\n  0: 1Gi\n  first: 1Gi\n", 3,
                    "reservedMemoryByNode node id must be a non-negative integer, got 'first'");
  ExpectConfigError("reservedMemoryByNode:\n  0: 1Gi\n  00: 2Gi\n", 3,
                    "reservedMemoryByNode names node 0 twice");
  ExpectConfigError("reservedMemoryByNode:\n  1: lots\n", 2,
                    "reservedMemoryByNode.1: bad quantity 'lots'");
}

TEST(AgentConfig, TheSharedRatioMustBePositive) {
  ExpectConfigError("sharedCpuRatio: 0\n", 1, "sharedCpuRatio must be greater than 0, got 0");
  ExpectConfigError("sharedCpuRatio: -2\n", 1, "sharedCpuRatio must be greater than 0");
  ExpectConfigError("sharedCpuRatio: fast\n", 1, "sharedCpuRatio must be a number, got 'fast'");
  ExpectConfigError("sharedCpuRatio: .inf\n", 1, "sharedCpuRatio must be a number");
  // Huge ratios overflowed the count of shared vCPU slots (2e8) or wrapped it to 0 (1e20).
  ExpectConfigError("sharedCpuRatio: 2e8\n", 1,
                    "sharedCpuRatio must be at most 256 vCPUs per CPU, got 2e8");
  ExpectConfigError("sharedCpuRatio: 1e20\n", 1, "sharedCpuRatio must be at most 256");
}

TEST(AgentConfig, FlagsAndGpuCountsAreTyped) {
  ExpectConfigError("allowNumaSpan: sometimes\n", 1,
                    "allowNumaSpan must be true or false, got 'sometimes'");
  ExpectConfigError("gpus:\n  nvidia.com/A400: -1\n", 2,
                    "gpus.nvidia.com/A400 must be a non-negative integer");
  ExpectConfigError("gpus: [nvidia.com/A400]\n", 1, "gpus must be a mapping");
}

TEST(AgentConfig, AReservedCpuCannotAlsoBeDedicated) {
  ExpectConfigError("reservedCpus: 0-3\nallowNumaSpan: true\ndedicatedCpus: 2-15\n", 3,
                    "dedicatedCpus 2-15 overlap reservedCpus 0-3 (line 1) on CPUs 2-3");
}

// yaml-cpp's LoadAll looped forever, allocating, on these (found by fuzz_config;
// fuzz/corpus/config/regression-stray-comma).
TEST(AgentConfig, AStrayFlowTokenIsAnErrorNotAHang) {
  ExpectConfigError(", 7\n", 1, "invalid YAML: a token outside any document");
  ExpectConfigError("sharedCpuRatio: 6\n---\n, 7\n", 3, "invalid YAML");
}

TEST(AgentConfig, KubeletConfigIsAnAbsolutePathOnTheHost) {
  EXPECT_EQ(ParseAgentConfigYaml("", "config.yaml").kubelet_config, "");
  EXPECT_EQ(ParseAgentConfigYaml("kubeletConfig: /etc/kubernetes/kubelet.yaml\n", "config.yaml")
                .kubelet_config,
            "/etc/kubernetes/kubelet.yaml");
  EXPECT_EQ(ParseAgentConfigYaml("kubeletConfig: \"\"\n", "config.yaml").kubelet_config, "");
  ExpectConfigError("placement: kubelet\nkubeletConfig: etc/kubelet.yaml\n", 2,
                    "kubeletConfig must be an absolute path on the host (or \"\" to find it), got "
                    "'etc/kubelet.yaml'");
}

TEST(AgentConfig, DomainsIsAGlobOrAListOfThemOnDomainNames) {
  EXPECT_EQ(ParseAgentConfigYaml("", "config.yaml").domains, (std::vector<std::string>{"*"}));
  EXPECT_EQ(ParseAgentConfigYaml("domains: kvhost-*\n", "config.yaml").domains,
            (std::vector<std::string>{"kvhost-*"}));
  EXPECT_EQ(ParseAgentConfigYaml("domains:\n  - tenant-*\n  - \"db-?\"\n", "config.yaml").domains,
            (std::vector<std::string>{"tenant-*", "db-?"}));
  EXPECT_EQ(ParseAgentConfigYaml("domains:\n", "config.yaml").domains,
            (std::vector<std::string>{"*"}));
  ExpectConfigError("domains: \"\"\n", 1, "domains is empty: a glob on libvirt domain names");
  ExpectConfigError("domains: []\n", 1, "domains: an empty list manages no domain");
  ExpectConfigError("domains:\n  - a-*\n  - \"\"\n", 3, "domains[1] is empty");
  ExpectConfigError("domains:\n  tenant: a-*\n", 2, "domains must be a single value");
  ExpectConfigError("domain: kvhost-*\n", 1, "unknown key 'domain' (did you mean 'domains'?)");
}

TEST(AgentConfig, TheFileIsOneMappingWithoutRepeatedKeys) {
  ExpectConfigError("- reservedCpus: 0\n", 1, "config must be a mapping");
  ExpectConfigError("sharedCpuRatio: 2\nsharedCpuRatio: 3\n", 2,
                    "config repeats the key 'sharedCpuRatio'");
  ExpectConfigError("sharedCpuRatio: 2\n---\nallowNumaSpan: true\n", 3,
                    "one YAML document, found a second");
  ExpectConfigError("sharedCpuRatio: [2\n", 2, "invalid YAML");
}

}  // namespace
}  // namespace kvhost
