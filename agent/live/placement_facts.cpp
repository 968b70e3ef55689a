#include "agent/live/placement_facts.h"

#include "agent/kubelet/kubelet_alignment.h"
#include "agent/live/kubelet_live.h"

namespace kvhost {

PlacementFacts PlacementOf(const LiveHost& live, const AgentConfig& config) {
  PlacementFacts facts{live.owner, live.kubelet, {}};
  if (facts.kubelet)
    facts.disagreements =
        kubelet::Disagreements(*facts.kubelet, AgentIntentFor(*live.resources, live.host, config));
  return facts;
}

PlacementFacts PlacementOf(const OwnerChoice& owner) { return {owner, std::nullopt, {}}; }

std::string PlacementText(const PlacementFacts& facts) {
  std::string out = std::string("placement ") + PlacementOwnerName(facts.owner.owner) + " (" +
                    facts.owner.why + ")\n";
  if (!facts.kubelet) return out;
  const kubelet::KubeletConfig& c = *facts.kubelet;
  const std::string why = c.source_why.empty() ? "" : " (" + c.source_why + ")";
  out += "kubelet   " + c.source + why + ": " + DescribeKubeletSettings(c) + "\n";
  for (const auto& line : facts.disagreements) out += "warning: " + line + "\n";
  return out;
}

v1::PlacementChoice PlacementMessage(const PlacementFacts& facts) {
  v1::PlacementChoice out;
  out.set_owner(PlacementOwnerName(facts.owner.owner));
  out.set_why(facts.owner.why);
  if (!facts.kubelet) return out;
  const kubelet::KubeletConfig& c = *facts.kubelet;
  v1::KubeletSettings* k = out.mutable_kubelet();
  k->set_source(c.source);
  k->set_source_why(c.source_why);
  k->set_cpu_manager_policy(c.cpu_manager_policy);
  k->mutable_cpu_manager_policy_options()->insert(c.cpu_manager_policy_options.begin(),
                                                  c.cpu_manager_policy_options.end());
  k->set_reserved_system_cpus(c.reserved_system_cpus.ToList());
  k->set_topology_manager_policy(c.topology_manager_policy);
  k->set_topology_manager_scope(c.topology_manager_scope);
  k->mutable_topology_manager_policy_options()->insert(c.topology_manager_policy_options.begin(),
                                                       c.topology_manager_policy_options.end());
  k->set_memory_manager_policy(c.memory_manager_policy);
  for (const auto& r : c.reserved_memory) {
    v1::KubeletReservedMemory* m = k->add_reserved_memory();
    m->set_numa_node(r.numa_node);
    m->mutable_limits()->insert(r.limits.begin(), r.limits.end());
  }
  for (const auto& line : facts.disagreements) k->add_disagreements(line);
  return out;
}

v1::KubeletCpus KubeletCpusOf(const LiveHost& live) {
  v1::KubeletCpus out;
  if (!live.kubelet_cpus) return out;
  out.set_reserved_cpus(live.kubelet_cpus->reserved.ToList());
  out.set_exclusive_cpus(live.kubelet_cpus->exclusive.ToList());
  return out;
}

}  // namespace kvhost
