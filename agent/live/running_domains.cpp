#include "agent/live/running_domains.h"

#include <map>

#include "base/sizes.h"

namespace kvhost {
namespace {

// Guest cells mirror the host nodes of the vCPUs, in the order they first appear.
bool CellsFromVcpus(const HostResources& host, const DomainPinning& pinning, Placement& p) {
  std::map<unsigned, GuestNumaCell> cells;
  std::vector<unsigned> node_order;
  for (size_t v = 0; v < pinning.vcpus.size(); ++v) {
    if (pinning.vcpus[v].Count() != 1) return false;
    const auto cpu = static_cast<unsigned>(pinning.vcpus[v].First());
    const CoreInfo* core = host.CoreOf(cpu);
    if (!core) return false;
    p.vcpu_cpus.push_back(cpu);
    if (!cells.count(core->node)) node_order.push_back(core->node);
    cells[core->node].host_node = core->node;
    cells[core->node].vcpus.push_back(static_cast<unsigned>(v));
  }
  for (unsigned node : node_order) p.guest_cells.push_back(std::move(cells[node]));
  return !p.guest_cells.empty();
}

}  // namespace

std::optional<Placement> PlacementFromPinning(const HostResources& host, const InstanceType& type,
                                              const std::string& vm, const DomainPinning& pinning) {
  if (!type.Dedicated()) return std::nullopt;
  Placement p;
  p.vm = vm;
  p.instance_type = type.name;
  p.dedicated = true;
  if (!CellsFromVcpus(host, pinning, p)) return std::nullopt;
  if (type.isolate_emulator_thread) {
    if (!pinning.emulator || pinning.emulator->Count() != 1) return std::nullopt;
    p.emulator_cpu = static_cast<unsigned>(pinning.emulator->First());
  }
  uint64_t memory_left = type.memory_kib;
  for (size_t i = 0; i < p.guest_cells.size(); ++i) {
    GuestNumaCell& cell = p.guest_cells[i];
    cell.memory_kib = i + 1 == p.guest_cells.size()
                          ? memory_left
                          : type.memory_kib * cell.vcpus.size() / p.vcpu_cpus.size();
    memory_left -= cell.memory_kib;
    if (type.hugepage_size_kib)
      p.hugepages.push_back({cell.host_node, type.hugepage_size_kib,
                             PagesFor(cell.memory_kib, type.hugepage_size_kib)});
    p.numa_nodes.push_back(cell.host_node);
  }
  if (!type.hugepage_size_kib) p.memory_kib = type.memory_kib;
  return p;
}

}  // namespace kvhost
