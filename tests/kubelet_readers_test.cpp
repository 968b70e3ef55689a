// The kubelet readers on kubelet's own checkpoint files (tests/data/kubelet/
// checkpoints, copied from kubelet's tests) and on damaged ones: the checksum
// is kubelet's, and every bad file is an error that names it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/kubelet/cpu_manager_state.h"
#include "agent/kubelet/go_checksum.h"
#include "agent/kubelet/kubelet_config.h"
#include "agent/kubelet/memory_manager_state.h"
#include "agent/yaml/yaml_error.h"
#include "base/temp_dir.h"

namespace kvhost::kubelet {
namespace {

namespace fs = std::filesystem;

fs::path Data(const std::string& name) {
  const char* src = std::getenv("KVHOST_SOURCE_DIR");
  return fs::path(src ? src : ".") / "tests/data/kubelet/checkpoints" / name;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A root with var/lib/kubelet/<file> holding `text`.
class KubeletRoot {
 public:
  KubeletRoot()
      : dir_(fs::temp_directory_path() / ("kvhost-kubelet-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_ / "var/lib/kubelet");
  }
  ~KubeletRoot() { fs::remove_all(dir_); }
  void Put(std::string_view file, const std::string& text) {
    std::ofstream(dir_ / "var/lib/kubelet" / fs::path(file).filename()) << text;
  }
  SysfsRoot root() const { return SysfsRoot(dir_); }

 private:
  fs::path dir_;
};

uint32_t CpuChecksum(const std::string& text, CpuCheckpointVersion v) {
  return Fnv32a(SpewCpuCheckpoint(ParseJsonObject(text), v));
}

TEST(KubeletChecksum, MatchesKubeletsOwnCheckpointFiles) {
  EXPECT_EQ(CpuChecksum(Slurp(Data("cpu_manager_state.v2")), CpuCheckpointVersion::kV2),
            3610638499u);
  EXPECT_EQ(CpuChecksum(Slurp(Data("cpu_manager_state.v1")), CpuCheckpointVersion::kV1),
            1694838852u);
  EXPECT_EQ(Fnv32a(SpewMemoryCheckpoint(ParseJsonObject(Slurp(Data("memory_manager_state"))))),
            4215593881u);
}

TEST(KubeletChecksum, ChangesWithAnyValue) {
  std::string text = Slurp(Data("cpu_manager_state.v2"));
  text.replace(text.find("4-6"), 3, "4-7");
  EXPECT_NE(CpuChecksum(text, CpuCheckpointVersion::kV2), 3610638499u);
}

TEST(CpuManagerStateReader, ReadsAVersionOneFileAsOlderKubeletsDid) {
  const auto state = ParseCpuManagerState(Slurp(Data("cpu_manager_state.v1")));
  EXPECT_EQ(state.policy_name, "none");
  EXPECT_EQ(state.default_cpu_set.ToList(), "1-3");
}

TEST(CpuManagerStateReader, ReadsPodsAndTheSharedPool) {
  const std::string text =
      R"({"policyName":"static","defaultCpuSet":"0-1,6-7","entries":{"pod-a":{"compute":"2-3"},"pod-b":{"compute":"4-5"}},"checksum":0})";
  const CpuSet host = CpuSet::Range(0, 7);
  const auto state = ParseCpuManagerState(text, &host);
  EXPECT_EQ(state.Exclusive().ToList(), "2-5");
  EXPECT_EQ(state.entries.at("pod-b").at("compute").ToList(), "4-5");
}

// Each damaged file is refused with the file's path and the reason.
void ExpectRefused(const std::string& text, const std::string& reason, const CpuSet* host) {
  KubeletRoot dir;
  dir.Put(kCpuManagerStatePath, text);
  try {
    ReadCpuManagerState(dir.root(), host);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("var/lib/kubelet/cpu_manager_state: "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

TEST(CpuManagerStateReader, RefusesDamagedCheckpoints) {
  const CpuSet host = CpuSet::Range(0, 7);
  std::string corrupt = Slurp(Data("cpu_manager_state.v2"));
  corrupt.replace(corrupt.find("3610638499"), 10, "3610638498");
  ExpectRefused(corrupt, "checksum mismatch", &host);
  ExpectRefused(R"({"policyName":"dynamic","defaultCpuSet":"0-7","checksum":0})",
                "unknown policyName 'dynamic'", &host);
  ExpectRefused(R"({"policyName":"static","defaultCpuSet":"0-7",)", "truncated or malformed",
                &host);
  ExpectRefused(R"({"policyName":"static","defaultCpuSet":"0-9","checksum":0})",
                "CPUs 8-9 that this host does not have", &host);
  ExpectRefused(
      R"({"policyName":"static","defaultCpuSet":"0","entries":{"a":{"c":"1-2"},"b":{"c":"2-3"}},"checksum":0})",
      "CPU 2 is held by two pods", &host);
  // kubelet's own test file lists 1-3 both as exclusive and shared.
  ExpectRefused(Slurp(Data("cpu_manager_state.v2")), "also in defaultCpuSet", &host);
}

TEST(CpuManagerStateReader, AbsentFileMeansNoKubelet) {
  KubeletRoot dir;
  EXPECT_FALSE(ReadCpuManagerState(dir.root()).has_value());
}

TEST(MemoryManagerStateReader, ReadsKubeletsCheckpoint) {
  KubeletRoot dir;
  dir.Put(kMemoryManagerStatePath, Slurp(Data("memory_manager_state")));
  const std::set<int> nodes{0};
  const auto state = ReadMemoryManagerState(dir.root(), &nodes);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->policy_name, "Static");
  EXPECT_EQ(state->machine.at(0).memory.at("memory").free, 1024u);
  EXPECT_EQ(state->entries.at("pod").at("container1").at(0).size, 512u);
}

TEST(MemoryManagerStateReader, RefusesACorruptOrForeignCheckpoint) {
  KubeletRoot dir;
  std::string text = Slurp(Data("memory_manager_state"));
  text.replace(text.find("\"free\":1024"), 11, "\"free\":1000");
  dir.Put(kMemoryManagerStatePath, text);
  EXPECT_THROW(ReadMemoryManagerState(dir.root()), InputError);
  dir.Put(kMemoryManagerStatePath, Slurp(Data("memory_manager_state")));
  const std::set<int> other{1};
  try {
    ReadMemoryManagerState(dir.root(), &other);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no NUMA node 0"), std::string::npos) << e.what();
  }
}

TEST(KubeletConfigReader, ReadsPlacementSettingsAndIgnoresTheRest) {
  const auto c = ParseKubeletConfig(R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
cpuManagerPolicy: static
cpuManagerPolicyOptions:
  full-pcpus-only: "true"
reservedSystemCPUs: "0-1,32-33"
topologyManagerPolicy: single-numa-node
topologyManagerScope: pod
memoryManagerPolicy: Static
reservedMemory:
  - numaNode: 0
    limits:
      memory: 1Gi
      hugepages-1Gi: 2Gi
systemReserved:
  cpu: 500m
  memory: 1Gi
)",
                                    "config.yaml");
  EXPECT_EQ(c.cpu_manager_policy, "static");
  EXPECT_TRUE(c.CpuOption("full-pcpus-only"));
  EXPECT_FALSE(c.CpuOption("distribute-cpus-across-numa"));
  EXPECT_EQ(c.reserved_system_cpus.ToList(), "0-1,32-33");
  EXPECT_EQ(c.topology_manager_policy, "single-numa-node");
  EXPECT_EQ(c.topology_manager_scope, "pod");
  ASSERT_EQ(c.reserved_memory.size(), 1u);
  EXPECT_EQ(c.reserved_memory[0].limits.at("hugepages-1Gi"), 2ull << 30);
  EXPECT_EQ(c.system_reserved.at("cpu"), "500m");
}

// Found by fuzz_kubelet: an entry without "limits" (or "numaNode") aborted the
// process with yaml-cpp's InvalidNode. kubelet reads absent keys as zero values.
TEST(KubeletConfigReader, AReservedMemoryEntryMayLeaveKeysOut) {
  const auto c = ParseKubeletConfig(R"(reservedMemory:
  - numaNode: 1
  - limits:
      memory: 1Gi
)",
                                    "config.yaml");
  ASSERT_EQ(c.reserved_memory.size(), 2u);
  EXPECT_EQ(c.reserved_memory[0].numa_node, 1);
  EXPECT_TRUE(c.reserved_memory[0].limits.empty());
  EXPECT_EQ(c.reserved_memory[1].numa_node, 0);
  EXPECT_EQ(c.reserved_memory[1].limits.at("memory"), 1ull << 30);
}

TEST(KubeletConfigReader, MalformedYamlOrBadValueNamesTheFile) {
  EXPECT_THROW(ParseKubeletConfig("cpuManagerPolicy: [static\n", "/etc/kubelet.yaml"),
               YamlInputError);
  try {
    ParseKubeletConfig("cpuManagerPolicy: dynamic\n", "/etc/kubelet.yaml");
    ADD_FAILURE();
  } catch (const YamlInputError& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/kubelet.yaml:1"), std::string::npos) << e.what();
  }
}

// Under a root, kubelet's config is absent (not an error) when the file is
// missing or a directory on its path is a file; present, it is read.
TEST(KubeletConfigReader, UnderARootAbsentIsNoConfig) {
  const TempDir root("kvhost-kubelet-root-");
  EXPECT_FALSE(ReadKubeletConfig(SysfsRoot(root.path())).has_value());
  std::ofstream(root.path() / "var") << "a file where a directory belongs";
  EXPECT_FALSE(ReadKubeletConfig(SysfsRoot(root.path())).has_value());
  std::filesystem::remove(root.path() / "var");
  std::filesystem::create_directories(root.path() / "var/lib/kubelet");
  std::ofstream(root.path() / kKubeletConfigPath) << "cpuManagerPolicy: static\n";
  const auto config = ReadKubeletConfig(SysfsRoot(root.path()));
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->cpu_manager_policy, "static");
}

// The reader keeps its last parse; a file rewritten with text of the same size
// and its old modification time must still be read anew, and a malformed
// rewrite must still fail.
TEST(KubeletConfigReader, RereadsAFileWhoseTextChanged) {
  const fs::path dir =
      fs::temp_directory_path() / ("kvhost-kubelet-config-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "config.yaml";
  const auto write = [&](const std::string& text) { std::ofstream(file, std::ios::trunc) << text; };
  write("cpuManagerPolicy: static\ntopologyManagerPolicy: restricted\n");
  const auto stamp = fs::last_write_time(file);
  EXPECT_EQ(ReadKubeletConfigFile(file.string()).topology_manager_policy, "restricted");
  EXPECT_EQ(ReadKubeletConfigFile(file.string()).topology_manager_policy, "restricted");
  write("cpuManagerPolicy: static\ntopologyManagerPolicy: none      \n");
  fs::last_write_time(file, stamp);
  EXPECT_EQ(ReadKubeletConfigFile(file.string()).topology_manager_policy, "none");
  write("cpuManagerPolicy: [static\n");
  EXPECT_THROW(ReadKubeletConfigFile(file.string()), YamlInputError);
  EXPECT_THROW(ReadKubeletConfigFile(file.string()), YamlInputError);
  write("cpuManagerPolicy: static\ntopologyManagerPolicy: restricted\n");
  EXPECT_EQ(ReadKubeletConfigFile(file.string()).topology_manager_policy, "restricted");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvhost::kubelet
