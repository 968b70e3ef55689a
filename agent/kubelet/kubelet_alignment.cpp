#include "agent/kubelet/kubelet_alignment.h"

#include <yaml-cpp/yaml.h>

#include "base/sizes.h"

namespace kvhost::kubelet {
namespace {

uint64_t TotalReserved(const AgentIntent& intent) {
  uint64_t sum = 0;
  for (const auto& [node, bytes] : intent.reserved_memory_by_node) sum += bytes;
  return sum;
}

// reservedMemory and systemReserved in bytes, printed exactly.
std::string Quantity(uint64_t bytes) { return KibQuantity(bytes / 1024); }

std::string MemoryOf(const KubeletConfig& live, int node) {
  for (const auto& r : live.reserved_memory)
    if (r.numa_node == node)
      if (auto m = r.limits.find("memory"); m != r.limits.end()) return Quantity(m->second);
  return "none";
}

}  // namespace

std::string TopologyPolicyFor(bool allow_numa_span) {
  return allow_numa_span ? "restricted" : "single-numa-node";
}

std::string KubeletConfigFragment(const AgentIntent& intent) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "kubelet.config.k8s.io/v1beta1";
  out << YAML::Key << "kind" << YAML::Value << "KubeletConfiguration";
  out << YAML::Key << "cpuManagerPolicy" << YAML::Value << "static";
  out << YAML::Key << "cpuManagerPolicyOptions" << YAML::Value << YAML::BeginMap << YAML::Key
      << "full-pcpus-only" << YAML::Value << YAML::DoubleQuoted << "true" << YAML::EndMap;
  out << YAML::Key << "reservedSystemCPUs" << YAML::Value << YAML::DoubleQuoted
      << intent.reserved_cpus.ToList();
  out << YAML::Key << "topologyManagerPolicy" << YAML::Value
      << TopologyPolicyFor(intent.allow_numa_span);
  out << YAML::Key << "memoryManagerPolicy" << YAML::Value << "Static";
  // kubelet refuses a reservedMemory that does not add up to
  // systemReserved + kubeReserved + the hard eviction threshold.
  const uint64_t total = TotalReserved(intent);
  out << YAML::Key << "evictionHard" << YAML::Value << YAML::BeginMap << YAML::Key
      << "memory.available" << YAML::Value << Quantity(kEvictionHardMemoryBytes) << YAML::EndMap;
  out << YAML::Key << "systemReserved" << YAML::Value << YAML::BeginMap << YAML::Key << "memory"
      << YAML::Value
      << Quantity(total > kEvictionHardMemoryBytes ? total - kEvictionHardMemoryBytes : 0)
      << YAML::EndMap;
  out << YAML::Key << "reservedMemory" << YAML::Value << YAML::BeginSeq;
  for (const auto& [node, bytes] : intent.reserved_memory_by_node)
    out << YAML::BeginMap << YAML::Key << "numaNode" << YAML::Value << node << YAML::Key << "limits"
        << YAML::Value << YAML::BeginMap << YAML::Key << "memory" << YAML::Value << Quantity(bytes)
        << YAML::EndMap << YAML::EndMap;
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> Disagreements(const KubeletConfig& live, const AgentIntent& intent) {
  std::vector<std::string> out;
  const std::string file = live.source;
  if (live.cpu_manager_policy != "static")
    out.push_back(file + ": cpuManagerPolicy " + live.cpu_manager_policy +
                  ": kubelet gives VMs no exclusive CPUs (the agent expects static)");
  if (!(live.reserved_system_cpus == intent.reserved_cpus))
    out.push_back(file + ": reservedSystemCPUs '" + live.reserved_system_cpus.ToList() +
                  "' differ from the agent's reservedCpus '" + intent.reserved_cpus.ToList() + "'");
  if (live.cpu_manager_policy == "static" && !live.CpuOption("full-pcpus-only"))
    out.push_back(file +
                  ": cpuManagerPolicyOptions full-pcpus-only is off: a dedicated VM's SMT "
                  "siblings may go to another pod");
  const std::string topology = TopologyPolicyFor(intent.allow_numa_span);
  if (live.topology_manager_policy != topology)
    out.push_back(file + ": topologyManagerPolicy " + live.topology_manager_policy +
                  " disagrees with the agent's allowNumaSpan " +
                  (intent.allow_numa_span ? "true" : "false") + " (expects " + topology + ")");
  if (live.memory_manager_policy != "Static")
    out.push_back(file + ": memoryManagerPolicy " + live.memory_manager_policy +
                  ": a dedicated VM's memory is not bound to its NUMA node (the agent expects "
                  "Static)");
  for (const auto& [node, bytes] : intent.reserved_memory_by_node)
    if (MemoryOf(live, node) != Quantity(bytes))
      out.push_back(file + ": reservedMemory of NUMA node " + std::to_string(node) + " is " +
                    MemoryOf(live, node) + ", the agent reserves " + Quantity(bytes));
  return out;
}

}  // namespace kvhost::kubelet
