#include "agent/publish/nrt.h"

#include <stdexcept>

#include "agent/publish/quantity.h"
#include "base/cpu_set.h"
#include "base/sizes.h"

namespace kvhost::publish {
namespace {

void AddResource(v1::nrt::Zone* zone, const std::string& name, const std::string& capacity,
                 const std::string& allocatable, const std::string& available) {
  auto* r = zone->add_resources();
  r->set_name(name);
  r->set_capacity(capacity);
  r->set_allocatable(allocatable);
  r->set_available(available);
}

void AddAttribute(google::protobuf::RepeatedPtrField<v1::nrt::AttributeInfo>* list,
                  const std::string& name, const std::string& value) {
  auto* a = list->Add();
  a->set_name(name);
  a->set_value(value);
}

const v1::NodeCapacity* FindNode(const v1::CapacityReport& capacity, uint32_t id) {
  for (const auto& n : capacity.nodes())
    if (n.id() == id) return &n;
  return nullptr;
}

// Who hands out CPUs decides what is allocatable and what is taken: kubelet's
// reserved and exclusive CPUs when it places, the agent's pools otherwise.
struct CpuBooks {
  const v1::KubeletCpus* kubelet = nullptr;  // kubelet mode
};

void AddCpuAndMemory(const v1::NumaNode& numa, const v1::NodeCapacity* node, const CpuBooks& books,
                     v1::nrt::Zone* zone) {
  const CpuSet all = ParseCpuList(numa.cpus());
  CpuSet allocatable, available;
  uint64_t memory_allocatable = 0, memory_available = 0;
  if (books.kubelet) {
    allocatable = all - ParseCpuList(books.kubelet->reserved_cpus());
    available = allocatable - ParseCpuList(books.kubelet->exclusive_cpus());
  }
  if (node) {  // memory-only nodes and nodes the allocator left out hold no guests
    if (!books.kubelet) {
      allocatable = all - ParseCpuList(node->reserved_cpus());
      const CpuSet held =
          ParseCpuList(node->dedicated_cpus()) - ParseCpuList(node->free_dedicated_cpus());
      available = allocatable - held;
    }
    memory_allocatable = node->ordinary_memory_kib();
    memory_available = node->free_ordinary_memory_kib();
  }
  AddResource(zone, "cpu", std::to_string(all.Count()), std::to_string(allocatable.Count()),
              std::to_string(available.Count()));
  AddResource(zone, "memory", KibQuantity(numa.memory_kib()), KibQuantity(memory_allocatable),
              KibQuantity(memory_available));
}

void AddHugepages(const v1::NumaNode& numa, const v1::NodeCapacity* node, v1::nrt::Zone* zone) {
  for (const auto& pool : numa.hugepages()) {
    uint64_t free = 0;
    if (node)
      for (const auto& p : node->hugepages())
        if (p.size_kib() == pool.size_kib()) free = p.free();
    const std::string total = KibQuantity(pool.total() * pool.size_kib());
    AddResource(zone, HugepageResourceName(pool.size_kib()), total, node ? total : "0",
                KibQuantity(free * pool.size_kib()));
  }
}

}  // namespace

std::string TopologyManagerPolicy(const v1::CapacityReport& capacity) {
  return capacity.allow_numa_span() ? "restricted" : "single-numa-node";
}

// kubelet's spellings; its defaults where its config leaves them out.
std::pair<std::string, std::string> TopologyAttributes(const v1::NodeReport& report) {
  if (!report.placement().has_kubelet()) return {TopologyManagerPolicy(report.capacity()), "pod"};
  const v1::KubeletSettings& k = report.placement().kubelet();
  return {k.topology_manager_policy().empty() ? "none" : k.topology_manager_policy(),
          k.topology_manager_scope().empty() ? "container" : k.topology_manager_scope()};
}

v1::nrt::NodeResourceTopology BuildNodeResourceTopology(const v1::NodeReport& report) {
  if (report.node_name().empty())
    throw std::invalid_argument("NodeResourceTopology needs the node's name");
  if (!report.capacity_unknown().empty())
    throw std::invalid_argument("no NodeResourceTopology while capacity is unknown: " +
                                report.capacity_unknown());
  const bool kubelet_places = report.placement().has_kubelet();
  const CpuBooks books{kubelet_places ? &report.kubelet_cpus() : nullptr};
  v1::nrt::NodeResourceTopology nrt;
  nrt.set_api_version("topology.node.k8s.io/v1alpha2");
  nrt.set_kind("NodeResourceTopology");
  nrt.mutable_metadata()->set_name(report.node_name());
  const auto& nodes = report.host().topology().numa_nodes();
  for (const auto& numa : nodes) {
    auto* zone = nrt.add_zones();
    zone->set_name("node-" + std::to_string(numa.id()));
    zone->set_type("Node");
    for (int j = 0; j < numa.distances_size() && j < nodes.size(); ++j) {
      auto* cost = zone->add_costs();
      cost->set_name("node-" + std::to_string(nodes[j].id()));
      cost->set_value(numa.distances(j));
    }
    const v1::NodeCapacity* node = FindNode(report.capacity(), numa.id());
    AddCpuAndMemory(numa, node, books, zone);
    AddHugepages(numa, node, zone);
  }
  const auto [policy, scope] = TopologyAttributes(report);
  AddAttribute(nrt.mutable_attributes(), "topologyManagerPolicy", policy);
  AddAttribute(nrt.mutable_attributes(), "topologyManagerScope", scope);
  return nrt;
}

}  // namespace kvhost::publish
