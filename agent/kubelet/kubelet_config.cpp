#include "agent/kubelet/kubelet_config.h"

#include <mutex>
#include <set>

#include "agent/yaml/yaml_input.h"

namespace kvhost::kubelet {
namespace {

std::string OneOf(const YamlFieldReader& in, const YAML::Node& node, std::string_view field,
                  const std::set<std::string>& allowed) {
  const std::string value = in.Text(node, field);
  if (!allowed.contains(value)) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    in.Fail(node, std::string(field) + " '" + value + "' is not one of: " + list);
  }
  return value;
}

void ReadReservedMemory(const YamlFieldReader& in, const YAML::Node& list, KubeletConfig& config) {
  if (!list.IsSequence()) in.Fail(list, "reservedMemory is not a list");
  for (const auto& entry : list) {
    in.RequireMap(entry, "reservedMemory[]");
    ReservedMemory rm;
    // Absent keys are Go's zero values, as kubelet unmarshals them: node 0, no limits.
    if (entry["numaNode"])
      rm.numa_node =
          static_cast<int>(in.Unsigned(entry["numaNode"], "reservedMemory[].numaNode", 4096));
    in.ForEachEntry(entry["limits"], "reservedMemory[].limits",
                    [&](const std::string& key, const YAML::Node&, const YAML::Node& value) {
                      rm.limits[key] = in.QuantityBytes(value, "reservedMemory[].limits." + key);
                    });
    config.reserved_memory.push_back(std::move(rm));
  }
}

}  // namespace

bool KubeletConfig::CpuOption(const std::string& name) const {
  auto it = cpu_manager_policy_options.find(name);
  return it != cpu_manager_policy_options.end() && it->second == "true";
}

KubeletConfig ParseKubeletConfig(std::string_view text, const std::string& source) {
  const YamlFieldReader in(source);
  const auto docs = in.ParseDocuments(text);
  if (docs.size() != 1 || !docs[0].IsMap()) in.Fail(0, "is not one KubeletConfiguration mapping");
  const YAML::Node& doc = docs[0];
  KubeletConfig c;
  c.source = source;
  if (doc["cpuManagerPolicy"])
    c.cpu_manager_policy =
        OneOf(in, doc["cpuManagerPolicy"], "cpuManagerPolicy", {"none", "static"});
  if (doc["cpuManagerPolicyOptions"])
    c.cpu_manager_policy_options =
        in.StringMap(doc["cpuManagerPolicyOptions"], "cpuManagerPolicyOptions");
  if (doc["reservedSystemCPUs"])
    c.reserved_system_cpus = in.CpuList(doc["reservedSystemCPUs"], "reservedSystemCPUs");
  if (doc["topologyManagerPolicy"])
    c.topology_manager_policy = OneOf(in, doc["topologyManagerPolicy"], "topologyManagerPolicy",
                                      {"none", "best-effort", "restricted", "single-numa-node"});
  if (doc["topologyManagerScope"])
    c.topology_manager_scope =
        OneOf(in, doc["topologyManagerScope"], "topologyManagerScope", {"container", "pod"});
  if (doc["topologyManagerPolicyOptions"])
    c.topology_manager_policy_options =
        in.StringMap(doc["topologyManagerPolicyOptions"], "topologyManagerPolicyOptions");
  if (doc["memoryManagerPolicy"])
    c.memory_manager_policy = OneOf(in, doc["memoryManagerPolicy"], "memoryManagerPolicy",
                                    {"None", "Static", "BestEffort"});
  if (doc["reservedMemory"]) ReadReservedMemory(in, doc["reservedMemory"], c);
  if (doc["systemReserved"])
    c.system_reserved = in.StringMap(doc["systemReserved"], "systemReserved");
  if (doc["kubeReserved"]) c.kube_reserved = in.StringMap(doc["kubeReserved"], "kubeReserved");
  if (doc["containerRuntimeEndpoint"])
    c.container_runtime_endpoint =
        in.Text(doc["containerRuntimeEndpoint"], "containerRuntimeEndpoint");
  return c;
}

namespace {

// Every capacity, refresh and audit reads kubelet's config and it seldom
// changes, while reading and parsing it cost more than the rest of a small
// host's capacity. The file is read through ReadKeptFile (one stat while it
// is unchanged), and the last good parse is kept with its text: the same text
// is not parsed again. Only good parses are kept: a malformed file stays an
// error every time.
struct LastParsed {
  std::mutex mutex;
  std::string path, text;
  KubeletConfig config;
};

std::optional<KubeletConfig> ReadIfPresent(const std::string& path) {
  static LastParsed last;
  // kubelet's config is a few KiB; 1 MiB leaves room for comments and still
  // refuses a device or a runaway file.
  std::optional<std::string> text =
      ReadKeptTextFile(path, 1 << 20, "a kubelet config is a few KiB");
  if (!text) return std::nullopt;
  {
    const std::lock_guard lock(last.mutex);
    if (last.path == path && last.text == *text) return last.config;
  }
  KubeletConfig config = ParseKubeletConfig(*text, path);
  const std::lock_guard lock(last.mutex);
  last.path = path;
  last.text = std::move(*text);
  last.config = config;
  return config;
}

}  // namespace

std::optional<KubeletConfig> ReadKubeletConfigIfPresent(const std::string& path) {
  return ReadIfPresent(path);
}

KubeletConfig ReadKubeletConfigFile(const std::string& path) {
  if (auto config = ReadIfPresent(path)) return std::move(*config);
  throw YamlInputError(path, 0, "cannot open: No such file or directory");  // ReadTextFile's words
}

std::optional<KubeletConfig> ReadKubeletConfig(const SysfsRoot& root) {
  return ReadIfPresent(root.PathOf(kKubeletConfigPath).string());
}

}  // namespace kvhost::kubelet
