#include "agent/config/config_loader.h"

#include <algorithm>
#include <array>
#include <limits>

#include "agent/catalog/quantity.h"
#include "agent/config/daemon_settings.h"
#include "agent/config/qualify_schedule_settings.h"
#include "agent/yaml/yaml_input.h"

namespace kvhost {
namespace {

constexpr std::array<std::string_view, 14> kAllocatorKeys = {"reservedCpus",
                                                             "reservedMemoryPerNode",
                                                             "reservedMemoryByNode",
                                                             "dedicatedCpus",
                                                             "sharedCpuRatio",
                                                             "allowNumaSpan",
                                                             "gpus",
                                                             "placement",
                                                             "kubeletConfig",
                                                             "kubevirtCpuAllocationRatio",
                                                             "kubevirtAlignCpus",
                                                             "requireQualification",
                                                             "qualificationMaxAgeHours",
                                                             "domains"};

constexpr auto kKnownKeys = [] {
  std::array<std::string_view,
             kAllocatorKeys.size() + kDaemonKeys.size() + kQualifyScheduleKeys.size()>
      keys{};
  auto end = std::copy(kAllocatorKeys.begin(), kAllocatorKeys.end(), keys.begin());
  end = std::copy(kDaemonKeys.begin(), kDaemonKeys.end(), end);
  std::copy(kQualifyScheduleKeys.begin(), kQualifyScheduleKeys.end(), end);
  return keys;
}();

// Every key of a config fits in a few hundred bytes; 64 KiB leaves room for
// comments while a wrong path (a log, /dev/zero) fails at once.
constexpr size_t kMaxConfigFileBytes = 64u << 10;
constexpr std::string_view kConfigLimitWhy = "a config of every key takes under 1 KiB";

// Far beyond any sane overcommit (KubeVirt's default is 10), and small enough
// that ratio x CPUs stays an exact count of vCPU slots (2e8 overflowed it).
constexpr double kMaxSharedCpuRatio = 256;

// Linux caps NUMA node ids well below this (MAX_NUMNODES is 1 << 10).
constexpr uint64_t kMaxNumaNodeId = 1023;

class ConfigReader {
 public:
  explicit ConfigReader(const YamlFieldReader& yaml) : yaml_(yaml) {
    config_.source = yaml.source();
  }

  AgentConfig Read(const YAML::Node& root) {
    if (root.IsNull()) return config_;  // an empty file or only comments: all defaults
    yaml_.ForEachEntry(
        root, "config",
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
          if (std::find(kKnownKeys.begin(), kKnownKeys.end(), key) == kKnownKeys.end())
            yaml_.Fail(key_node,
                       UnknownKeyReason(key, kKnownKeys));  // even with no value: a typo is a typo
          if (value.IsNull()) return;                       // "key:" with no value: the default
          if (key == "reservedCpus") {
            config_.reserved_cpus = yaml_.CpuList(value, key);
            reserved_cpus_line_ = YamlFieldReader::LineOf(value);
          } else if (key == "reservedMemoryPerNode") {
            config_.reserved_memory_kib_per_node = Kib(value, key);
          } else if (key == "reservedMemoryByNode") {
            ReadMemoryByNode(value);
          } else if (key == "dedicatedCpus") {
            config_.dedicated_cpus = yaml_.CpuList(value, key);
            dedicated_cpus_line_ = YamlFieldReader::LineOf(value);
          } else if (key == "sharedCpuRatio") {
            config_.shared_cpu_ratio = yaml_.Number(value, key);
            if (config_.shared_cpu_ratio <= 0)
              yaml_.Fail(value, "sharedCpuRatio must be greater than 0, got " + value.Scalar());
            if (config_.shared_cpu_ratio > kMaxSharedCpuRatio)
              yaml_.Fail(value, "sharedCpuRatio must be at most " +
                                    std::to_string(static_cast<int>(kMaxSharedCpuRatio)) +
                                    " vCPUs per CPU, got " + value.Scalar());
          } else if (key == "allowNumaSpan") {
            config_.allow_numa_span = yaml_.Bool(value, key);
          } else if (key == "gpus") {
            ReadGpus(value);
          } else if (key == "placement") {
            config_.placement = Placement(value);
          } else if (key == "kubeletConfig") {
            config_.kubelet_config = HostPath(value, key);
          } else if (key == "kubevirtCpuAllocationRatio") {
            // KubeVirt refuses a ratio of 0; 1000 is far beyond any real overcommit.
            config_.kubevirt_cpu_allocation_ratio =
                static_cast<unsigned>(yaml_.Unsigned(value, key, 1000));
            if (config_.kubevirt_cpu_allocation_ratio == 0)
              yaml_.Fail(value, "kubevirtCpuAllocationRatio must be at least 1");
          } else if (key == "kubevirtAlignCpus") {
            config_.kubevirt_align_cpus = yaml_.Bool(value, key);
          } else if (key == "requireQualification") {
            config_.require_qualification = yaml_.Bool(value, key);
          } else if (key == "qualificationMaxAgeHours") {
            const double hours = yaml_.Number(value, key);
            if (hours < 1 || hours > 24 * 366 || hours != static_cast<unsigned>(hours))
              yaml_.Fail(value,
                         "qualificationMaxAgeHours must be a whole number of hours from 1 "
                         "to 8784, got " +
                             value.Scalar());
            config_.qualification_max_age_hours = static_cast<unsigned>(hours);
          } else if (key == "domains") {
            ReadDomains(value);
          } else if (key.starts_with("qualify")) {
            ReadQualifyScheduleSetting(yaml_, key, value, config_.qualify_schedule);
            if (key == "qualifyDuration" || key == "qualifyInterval")
              schedule_line_ = YamlFieldReader::LineOf(value);
          } else {
            ReadDaemonSetting(yaml_, key, value, config_.daemon);
          }
        });
    CheckReservedAndDedicatedApart();
    CheckQualifySchedule(yaml_, config_.qualify_schedule, schedule_line_);
    return config_;
  }

 private:
  uint64_t Kib(const YAML::Node& value, const std::string& field) const {
    return BytesToKibRoundUp(yaml_.QuantityBytes(value, field));
  }

  void ReadMemoryByNode(const YAML::Node& by_node) {
    yaml_.ForEachEntry(
        by_node, "reservedMemoryByNode",
        [&](const std::string& node_text, const YAML::Node& key_node, const YAML::Node& value) {
          const auto node = static_cast<unsigned>(
              yaml_.Unsigned(key_node, "reservedMemoryByNode node id", kMaxNumaNodeId));
          if (!config_.reserved_memory_kib_by_node
                   .emplace(node, Kib(value, "reservedMemoryByNode." + node_text))
                   .second)
            yaml_.Fail(key_node,
                       "reservedMemoryByNode names node " + std::to_string(node) + " twice");
        });
  }

  // One glob or a list of them; an empty one matches no libvirt domain name, so
  // it can only be a mistake, as is a list with none.
  void ReadDomains(const YAML::Node& value) {
    config_.domains.clear();
    if (value.IsSequence()) {
      if (value.size() == 0)
        yaml_.Fail(value,
                   "domains: an empty list manages no domain; leave the key out (or \"*\") "
                   "for every domain");
      for (size_t i = 0; i < value.size(); ++i)
        config_.domains.push_back(DomainGlob(value[i], "domains[" + std::to_string(i) + "]"));
    } else {
      config_.domains.push_back(DomainGlob(value, "domains"));
    }
  }
  std::string DomainGlob(const YAML::Node& value, const std::string& field) const {
    std::string glob = yaml_.Text(value, field);
    if (glob.empty())
      yaml_.Fail(value, field +
                            " is empty: a glob on libvirt domain names (\"kvhost-*\"), "
                            "\"*\" for every domain");
    return glob;
  }

  // A file on the host, read under --root: relative to what would be unclear.
  std::string HostPath(const YAML::Node& value, const std::string& key) const {
    std::string path = yaml_.Text(value, key);
    if (!path.empty() && path.front() != '/')
      yaml_.Fail(value, key + " must be an absolute path on the host (or \"\" to find it), got '" +
                            path + "'");
    return path;
  }

  PlacementSetting Placement(const YAML::Node& value) const {
    const std::string text = yaml_.Text(value, "placement");
    if (text == "auto") return PlacementSetting::kAuto;
    if (text == "agent") return PlacementSetting::kAgent;
    if (text == "kubelet") return PlacementSetting::kKubelet;
    yaml_.Fail(value, "placement must be auto, agent or kubelet, got '" + text + "'");
  }

  void ReadGpus(const YAML::Node& gpus) {
    yaml_.ForEachEntry(
        gpus, "gpus",
        [&](const std::string& device_name, const YAML::Node& key_node, const YAML::Node& value) {
          if (device_name.empty()) yaml_.Fail(key_node, "gpus: a device name is empty");
          config_.gpus[device_name] = static_cast<unsigned>(
              yaml_.Unsigned(value, "gpus." + device_name, std::numeric_limits<unsigned>::max()));
        });
  }

  // A housekeeping CPU handed to a dedicated VM would put the agent and the
  // kernel's own work on a guest's exclusive core: refuse the contradiction.
  void CheckReservedAndDedicatedApart() const {
    if (!config_.reserved_cpus || !config_.dedicated_cpus) return;
    const CpuSet overlap = *config_.reserved_cpus & *config_.dedicated_cpus;
    if (overlap.Empty()) return;
    yaml_.Fail(dedicated_cpus_line_, "dedicatedCpus " + config_.dedicated_cpus->ToList() +
                                         " overlap reservedCpus " +
                                         config_.reserved_cpus->ToList() + " (line " +
                                         std::to_string(reserved_cpus_line_) + ") on CPUs " +
                                         overlap.ToList() + "; a reserved CPU is never dedicated");
  }

  const YamlFieldReader& yaml_;
  AgentConfig config_;
  unsigned reserved_cpus_line_ = 0, dedicated_cpus_line_ = 0, schedule_line_ = 0;
};

}  // namespace

AgentConfig ParseAgentConfigYaml(std::string_view text, std::string source_name) {
  const YamlFieldReader yaml(std::move(source_name));
  std::vector<YAML::Node> documents;
  for (const YAML::Node& doc : yaml.ParseDocuments(text))
    if (!doc.IsNull()) documents.push_back(doc);  // a bare "---" adds an empty document
  if (documents.size() > 1)
    yaml.Fail(documents[1], "the config is one YAML document, found a second");
  return ConfigReader(yaml).Read(documents.empty() ? YAML::Node() : documents.front());
}

AgentConfig LoadAgentConfig(const std::filesystem::path& path, bool must_exist) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (ec) throw ConfigError(path.string(), 0, "cannot check the file: " + ec.message());
  if (!exists) {
    if (must_exist) throw ConfigError(path.string(), 0, "no such file");
    return AgentConfig{};
  }
  return ParseAgentConfigYaml(ReadTextFile(path.string(), kMaxConfigFileBytes, kConfigLimitWhy),
                              path.string());
}

}  // namespace kvhost
