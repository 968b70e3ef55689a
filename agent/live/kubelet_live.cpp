#include "agent/live/kubelet_live.h"

#include <charconv>
#include <set>

#include "agent/catalog/quantity.h"
#include "agent/kubelet/cpu_manager_state.h"
#include "agent/kubelet/memory_manager_state.h"
#include "agent/live/kubelet_config_location.h"
#include "base/errors.h"
#include "base/sizes.h"

namespace kvhost {
namespace {

using kubelet::KubeletConfig;

kubelet::CpuTopology KubeletCpus(const HostModel& host) {
  std::map<unsigned, kubelet::CpuPlace> cpus;
  for (const auto& core : host.cpu.cores) {
    // getUniqueCoreID: a core is known by its smallest CPU.
    const int core_id = core.pus.First();
    core.pus.ForEach([&](unsigned cpu) {
      cpus[cpu] = {core_id, static_cast<int>(core.package),
                   static_cast<int>(host.numa.NodeOf(cpu).value_or(0))};
    });
  }
  return kubelet::CpuTopology(std::move(cpus));
}

kubelet::NumaInfo KubeletNuma(const HostModel& host) {
  kubelet::NumaInfo numa;
  unsigned top = 0;
  for (const auto& n : host.numa.nodes) top = std::max(top, n.id);
  for (const auto& n : host.numa.nodes) {
    numa.nodes.push_back(static_cast<int>(n.id));
    auto& row = numa.distances[static_cast<int>(n.id)];
    for (unsigned to = 0; to <= top; ++to)
      row.push_back(static_cast<int>(host.numa.Distance(n.id, to)));
  }
  return numa;
}

// "2", "1500m" -> millicores (resource.Quantity's MilliValue, rounded up).
uint64_t CpuMilli(const std::string& text, const std::string& source) {
  std::string_view s = text;
  const bool milli = s.ends_with('m');
  if (milli) s.remove_suffix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0)
    throw InputError(source, "cpu quantity '" + text + "' is not a number of CPUs");
  const double m = milli ? value : value * 1000;
  return static_cast<uint64_t>(m + 0.999999);
}

uint64_t Reserved(const std::map<std::string, std::string>& reserved, const std::string& resource,
                  const std::string& source) {
  auto it = reserved.find(resource);
  if (it == reserved.end()) return 0;
  if (resource == "cpu") return CpuMilli(it->second, source);
  try {
    return ParseQuantityBytes(it->second);
  } catch (const std::exception& e) {
    throw InputError(source, resource + " '" + it->second + "': " + e.what());
  }
}

// Node status allocatable (kubelet's setters.go MachineInfo and
// GetNodeAllocatableAbsolute): capacity less system/kube reserved and the
// hard eviction threshold; memory also less every hugepage pool.
kubelet::ResourceAmounts Allocatable(const HostModel& host, const KubeletConfig& c) {
  kubelet::ResourceAmounts out;
  auto less = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  const uint64_t cpu_reserved = !c.reserved_system_cpus.Empty()
                                    ? c.reserved_system_cpus.Count() * 1000ull
                                    : Reserved(c.system_reserved, "cpu", c.source) +
                                          Reserved(c.kube_reserved, "cpu", c.source);
  out["cpu"] = less(host.cpu.online.Count() * 1000ull, cpu_reserved);
  uint64_t memory = 0;
  for (const auto& n : host.numa.nodes) memory += n.memory_kib * 1024;
  memory =
      less(memory, Reserved(c.system_reserved, "memory", c.source) +
                       Reserved(c.kube_reserved, "memory", c.source) + kDefaultEvictionHardMemory);
  // Per NUMA node where the kernel says (cadvisor sums those), else the global pools.
  std::map<uint64_t, uint64_t> pages;  // page KiB -> pages
  for (const auto& [node, pools] : host.hugepages.per_node)
    for (const auto& pool : pools) pages[pool.size_kib] += pool.total;
  if (pages.empty())
    for (const auto& pool : host.hugepages.global) pages[pool.size_kib] += pool.total;
  for (const auto& [size_kib, total] : pages) {
    const std::string name = HugepageResourceName(size_kib);
    const uint64_t bytes = total * size_kib * 1024;
    memory = less(memory, bytes);
    out[name] = less(bytes, Reserved(c.system_reserved, name, c.source) +
                                Reserved(c.kube_reserved, name, c.source));
  }
  out["memory"] = memory;
  return out;
}

kubelet::StaticPolicy StaticCpuPolicy(const HostModel& host, const KubeletConfig& c) {
  try {
    const kubelet::StaticPolicyOptions options =
        kubelet::ParseStaticPolicyOptions(c.cpu_manager_policy_options);
    const int reserved = !c.reserved_system_cpus.Empty()
                             ? static_cast<int>(c.reserved_system_cpus.Count())
                             : static_cast<int>((Reserved(c.system_reserved, "cpu", c.source) +
                                                 Reserved(c.kube_reserved, "cpu", c.source) + 999) /
                                                1000);
    // kubelet refuses to start the static policy without a reservation.
    if (reserved == 0)
      throw std::invalid_argument(
          "the static policy requires systemReserved.cpu + kubeReserved.cpu (or "
          "reservedSystemCPUs) to be greater than zero");
    return kubelet::StaticPolicy(KubeletCpus(host), reserved, c.reserved_system_cpus, options);
  } catch (const std::invalid_argument& e) {
    throw InputError(c.source, e.what());
  }
}

// The memory manager: its Static policy over the host's nodes, the state its
// checkpoint holds (or a fresh one), checked as kubelet's validateState does.
void LoadMemory(const SysfsRoot& sysfs, const HostModel& host, const KubeletConfig& c,
                kubelet::KubeletNode& node) {
  if (c.memory_manager_policy != "Static") return;
  std::vector<kubelet::NumaMemoryInfo> nodes;
  std::set<int> ids;
  for (const auto& n : host.numa.nodes) {
    kubelet::NumaMemoryInfo info{static_cast<int>(n.id), n.memory_kib * 1024, {}};
    if (auto pools = host.hugepages.per_node.find(n.id); pools != host.hugepages.per_node.end())
      for (const auto& pool : pools->second) info.hugepages[pool.size_kib] = pool.total;
    nodes.push_back(std::move(info));
    ids.insert(static_cast<int>(n.id));
  }
  std::map<int, std::map<std::string, uint64_t>> reserved;
  for (const auto& r : c.reserved_memory) reserved[r.numa_node] = r.limits;
  try {
    node.memory =
        std::make_shared<const kubelet::MemoryStaticPolicy>(std::move(nodes), std::move(reserved));
  } catch (const std::invalid_argument& e) {
    throw InputError(c.source, std::string("memoryManagerPolicy Static: ") + e.what());
  }
  // Named only in an error: a path costs allocations on every refresh.
  const auto file = [&] { return sysfs.PathOf(kubelet::kMemoryManagerStatePath); };
  if (auto saved = kubelet::ReadMemoryManagerState(sysfs, &ids)) {
    if (saved->policy_name != "Static")
      throw InputError(file(), "policyName " + saved->policy_name +
                                   " differs from the config's memoryManagerPolicy Static");
    for (const auto& [id, n] : saved->machine) {
      auto& to = node.memory_state.machine[id];
      to.assignments = n.assignments;
      to.cells = n.cells;
      for (const auto& [type, t] : n.memory)
        to.memory[type] = {t.total, t.system_reserved, t.allocatable, t.reserved, t.free};
    }
    for (const auto& [pod, containers] : saved->entries)
      for (const auto& [name, blocks] : containers)
        for (const auto& b : blocks)
          node.memory_state.entries[pod][name].push_back({b.numa_affinity, b.type, b.size});
  }
  if (std::string err = node.memory->Start(node.memory_state); !err.empty())
    throw InputError(file(), err);
}

// The CPU manager: the static policy, the state its checkpoint holds.
void LoadCpus(const SysfsRoot& sysfs, const HostModel& host, const KubeletConfig& c,
              kubelet::KubeletNode& node) {
  const auto file = [&] { return sysfs.PathOf(kubelet::kCpuManagerStatePath); };  // for errors
  if (c.cpu_manager_policy != "static")
    throw InputError(c.source, "cpuManagerPolicy " + c.cpu_manager_policy +
                                   ": kubelet gives no exclusive CPUs, so it places nothing; "
                                   "use placement: agent");
  if (auto saved = kubelet::ReadCpuManagerState(sysfs, &host.cpu.online)) {
    if (saved->policy_name != c.cpu_manager_policy)
      throw InputError(file(), "policyName " + saved->policy_name + " differs from " + c.source +
                                   "'s cpuManagerPolicy " + c.cpu_manager_policy);
    node.cpu_state.default_cpu_set = saved->default_cpu_set;
    node.cpu_state.assignments = saved->entries;
  }
  if (std::string err = node.cpu->Start(node.cpu_state); !err.empty())
    throw InputError(file(), err);
}

// What the pods in kubelet's checkpoints request, for the scheduler's fit.
// Shared (Burstable) pods leave no trace in these files: their requests are
// not counted (README "Who places").
void CountRunningPods(kubelet::KubeletHost& host) {
  for (const auto& [pod, containers] : host.node.cpu_state.assignments)
    for (const auto& [name, cpus] : containers) host.pods[pod]["cpu"] += cpus.Count() * 1000ull;
  for (const auto& [pod, containers] : host.node.memory_state.entries)
    for (const auto& [name, blocks] : containers)
      for (const auto& b : blocks) host.pods[pod][b.type] += b.size;
  for (const auto& [pod, amounts] : host.pods)
    for (const auto& [resource, amount] : amounts) host.requested[resource] += amount;
}

}  // namespace

std::shared_ptr<const kubelet::KubeletHost> LoadKubeletHost(const HostModel& host,
                                                            const kubelet::KubeletConfig& config,
                                                            const kubevirt::Settings& settings) {
  // A few files: no root fd.
  const SysfsRoot sysfs = host.root.Sysfs(SysfsRoot::Access::kKeptFiles);
  kubelet::TopologyPolicyOptions topology_options;
  if (auto o = config.topology_manager_policy_options.find("prefer-closest-numa-nodes");
      o != config.topology_manager_policy_options.end())
    topology_options.prefer_closest_numa = o->second == "true";
  kubelet::KubeletNode node{
      std::make_shared<const kubelet::StaticPolicy>(StaticCpuPolicy(host, config)),
      {},
      nullptr,
      {},
      kubelet::ParseTopologyPolicy(config.topology_manager_policy),
      topology_options,
      KubeletNuma(host)};
  auto out = std::make_shared<kubelet::KubeletHost>(
      kubelet::KubeletHost{std::move(node), settings, Allocatable(host, config), {}, {}});
  LoadCpus(sysfs, host, config, out->node);
  LoadMemory(sysfs, host, config, out->node);
  CountRunningPods(*out);
  return out;
}

std::optional<kubelet::KubeletConfig> FindKubeletConfig(const std::filesystem::path& root,
                                                        const std::string& explicit_file,
                                                        const AgentConfig& config) {
  const KubeletConfigLocation where =
      LocateKubeletConfig(root, explicit_file, config.kubelet_config, config.source);
  if (!where.found) return std::nullopt;
  auto kubelet = kubelet::ReadKubeletConfigIfPresent(where.file.string());
  if (kubelet) kubelet->source_why = where.why;
  return kubelet;
}

kubelet::KubeletConfig LoadKubeletConfig(const std::filesystem::path& root,
                                         const std::string& explicit_file,
                                         const AgentConfig& config) {
  const KubeletConfigLocation where =
      LocateKubeletConfig(root, explicit_file, config.kubelet_config, config.source);
  constexpr const char* kNeeded =
      "kubelet mode needs kubelet's config (give --kubelet-config or the config key "
      "kubeletConfig)";
  if (!where.found) throw InputError(where.file, where.why + "; " + kNeeded);
  auto kubelet = kubelet::ReadKubeletConfigIfPresent(where.file.string());
  if (!kubelet) throw InputError(where.file, "absent (" + where.why + "); " + kNeeded);
  kubelet->source_why = where.why;
  return std::move(*kubelet);
}

}  // namespace kvhost

namespace kvhost {

kubelet::AgentIntent AgentIntentFor(const HostResources& resources, const HostModel& host,
                                    const AgentConfig& config) {
  kubelet::AgentIntent intent{resources.reserved, config.allow_numa_span, {}};
  for (const auto& n : host.numa.nodes) {
    if (n.memory_kib == 0) continue;
    auto by_node = config.reserved_memory_kib_by_node.find(n.id);
    const uint64_t kib = by_node != config.reserved_memory_kib_by_node.end()
                             ? by_node->second
                             : config.reserved_memory_kib_per_node;
    intent.reserved_memory_by_node[static_cast<int>(n.id)] = kib * 1024;
  }
  return intent;
}

std::string DescribeKubeletSettings(const kubelet::KubeletConfig& c) {
  std::string options;
  for (const auto& [name, value] : c.cpu_manager_policy_options)
    options += (options.empty() ? " (" : ", ") + name + "=" + value;
  if (!options.empty()) options += ")";
  std::string reserved_memory;
  for (const auto& r : c.reserved_memory)
    for (const auto& [resource, bytes] : r.limits)
      reserved_memory += (reserved_memory.empty() ? "" : ", ") + std::string("node ") +
                         std::to_string(r.numa_node) + " " + resource + " " +
                         KibQuantity(bytes / 1024);
  return "cpuManagerPolicy " + c.cpu_manager_policy + options + "; reservedSystemCPUs " +
         (c.reserved_system_cpus.Empty() ? "none" : c.reserved_system_cpus.ToList()) +
         "; topologyManagerPolicy " + c.topology_manager_policy + " (scope " +
         c.topology_manager_scope + "); memoryManagerPolicy " + c.memory_manager_policy +
         "; reservedMemory " + (reserved_memory.empty() ? "none" : reserved_memory);
}

}  // namespace kvhost
