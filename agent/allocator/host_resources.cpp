#include "agent/allocator/host_resources.h"

#include <algorithm>

#include "base/errors.h"

namespace kvhost {

int HostResources::NodeIndex(unsigned node_id) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].id == node_id) return static_cast<int>(i);
  return -1;
}

const CoreInfo* HostResources::CoreOf(unsigned cpu) const {
  if (cpu >= core_of_cpu.size() || core_of_cpu[cpu] < 0) return nullptr;
  return &cores[static_cast<size_t>(core_of_cpu[cpu])];
}

namespace {

CpuSet DefaultReserved(const HostModel& host) {
  // One physical core per node keeps the host and the agent responsive next to
  // busy guests; isolated cores are left alone since they are meant for guests.
  CpuSet reserved;
  for (const auto& node : host.numa.nodes) {
    for (const auto& core : host.cpu.cores) {
      if (core.pus.IsSubsetOf(node.cpus) && !core.pus.Intersects(host.isolation.isolated)) {
        reserved |= core.pus;
        break;
      }
    }
  }
  return reserved;
}

uint64_t HugepageMemoryKib(const HostModel& host, unsigned node) {
  uint64_t kib = 0;
  if (auto it = host.hugepages.per_node.find(node); it != host.hugepages.per_node.end())
    for (const auto& p : it->second) kib += p.total * p.size_kib;
  return kib;
}

// A config value that names no CPU or node of this host is a config written
// for another machine (or a typo): applying what is left of it would silently
// dedicate, reserve or keep memory other than what the operator meant.
void RequireConfigNamesThisHost(const HostModel& host, const AgentConfig& config) {
  const CpuSet host_cpus = host.cpu.online | host.cpu.offline;
  for (const auto& [key, cpus] : {std::pair{"reservedCpus", &config.reserved_cpus},
                                  std::pair{"dedicatedCpus", &config.dedicated_cpus}}) {
    if (!*cpus || cpus->value().IsSubsetOf(host_cpus)) continue;
    throw InputError(config.source,
                     std::string(key) + " names CPUs " + (cpus->value() - host_cpus).ToList() +
                         " that this host does not have (it has " + host_cpus.ToList() + ")");
  }
  for (const auto& [node, kib] : config.reserved_memory_kib_by_node)
    if (!host.numa.Find(node))
      throw InputError(config.source, "reservedMemoryByNode names node " + std::to_string(node) +
                                          ", which this host does not have");
}

}  // namespace

HostResources BuildHostResources(const HostModel& host, const AgentConfig& config) {
  RequireConfigNamesThisHost(host, config);
  HostResources r;
  r.online = host.cpu.online;
  r.threads_per_core = std::max(1u, host.cpu.threads_per_core);
  r.reserved = (config.reserved_cpus ? *config.reserved_cpus : DefaultReserved(host)) & r.online;
  const CpuSet isolated = host.isolation.isolated & r.online;
  if (config.dedicated_cpus)
    r.dedicated = *config.dedicated_cpus & r.online;
  else if (!isolated.Empty())
    r.dedicated = isolated;
  else
    r.dedicated = r.online;
  r.dedicated -= r.reserved;
  r.shared = r.online - isolated - r.reserved;
  r.shared_cpu_ratio = config.shared_cpu_ratio;
  r.allow_numa_span = config.allow_numa_span;
  r.realtime_blockers = host.realtime.Blockers();
  r.realtime_ready = r.realtime_blockers.empty();  // Ready(), without wording the blockers again
  r.gpus = config.gpus;

  int max_cpu = r.online.Last();
  r.core_of_cpu.assign(max_cpu < 0 ? 0 : static_cast<size_t>(max_cpu) + 1, -1);
  for (const auto& node : host.numa.nodes) {
    if (node.cpus.Empty()) continue;  // memory-only nodes hold no guests of ours
    NodeResources nr;
    nr.id = node.id;
    nr.dedicable_cpus = node.cpus & r.dedicated;
    uint64_t reserved_mem = config.reserved_memory_kib_per_node;
    if (auto it = config.reserved_memory_kib_by_node.find(node.id);
        it != config.reserved_memory_kib_by_node.end())
      reserved_mem = it->second;
    const uint64_t taken = reserved_mem + HugepageMemoryKib(host, node.id);
    nr.ordinary_memory_kib = node.memory_kib > taken ? node.memory_kib - taken : 0;
    r.ordinary_memory_kib += nr.ordinary_memory_kib;
    if (auto it = host.hugepages.per_node.find(node.id); it != host.hugepages.per_node.end())
      for (const auto& p : it->second) {
        nr.hugepages_free[p.size_kib] = p.free;
        nr.hugepages_total[p.size_kib] = p.total;
      }
    r.nodes.push_back(std::move(nr));
  }

  for (const auto& core : host.cpu.cores) {
    CoreInfo ci;
    ci.pus = core.pus;
    const auto node = host.numa.NodeOf(static_cast<unsigned>(core.pus.First()));
    if (!node) continue;  // a core in no node cannot be bound to memory
    ci.node = *node;
    for (size_t g = 0; g < host.cpu.l3_groups.size(); ++g)
      if (core.pus.IsSubsetOf(host.cpu.l3_groups[g])) ci.l3 = static_cast<unsigned>(g);
    ci.dedicable = core.pus.IsSubsetOf(r.dedicated);
    const unsigned index = static_cast<unsigned>(r.cores.size());
    core.pus.ForEach([&](unsigned cpu) { r.core_of_cpu[cpu] = static_cast<int>(index); });
    if (int ni = r.NodeIndex(ci.node); ni >= 0 && ci.dedicable)
      r.nodes[static_cast<size_t>(ni)].cores.push_back(index);
    r.cores.push_back(std::move(ci));
  }

  r.distance.assign(r.nodes.size(), std::vector<unsigned>(r.nodes.size(), 20));
  for (size_t i = 0; i < r.nodes.size(); ++i)
    for (size_t j = 0; j < r.nodes.size(); ++j)
      r.distance[i][j] = host.numa.Distance(r.nodes[i].id, r.nodes[j].id);
  return r;
}

}  // namespace kvhost
