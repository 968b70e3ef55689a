#include "agent/state/allocation_convert.h"

namespace kvhost {

v1::Allocation AllocationFromPlacement(const Placement& placement, const std::string& domain_uuid,
                                       const std::string& connection_uri) {
  v1::Allocation allocation;
  allocation.set_vm(placement.vm);
  allocation.set_instance_type(placement.instance_type);
  allocation.set_dedicated(placement.dedicated);
  for (unsigned cpu : placement.vcpu_cpus) allocation.add_vcpu_cpus(cpu);
  allocation.set_shared_cpus(placement.shared_cpus.ToList());
  if (placement.emulator_cpu) allocation.set_emulator_cpu(*placement.emulator_cpu);
  for (unsigned node : placement.numa_nodes) allocation.add_numa_nodes(node);
  for (const GuestNumaCell& cell : placement.guest_cells) {
    v1::GuestNumaCell* out = allocation.add_guest_cells();
    out->set_host_node(cell.host_node);
    for (unsigned vcpu : cell.vcpus) out->add_vcpus(vcpu);
    out->set_memory_kib(cell.memory_kib);
  }
  for (const HugepageGrant& grant : placement.hugepages) {
    v1::HugepageGrant* out = allocation.add_hugepages();
    out->set_node(grant.node);
    out->set_size_kib(grant.size_kib);
    out->set_pages(grant.pages);
  }
  allocation.set_memory_kib(placement.memory_kib);
  allocation.set_shared_vcpus(placement.shared_vcpus);
  allocation.set_gpus(placement.gpus);
  allocation.set_gpu_device(placement.gpu_device);
  allocation.set_domain_uuid(domain_uuid);
  allocation.set_connection_uri(connection_uri);
  return allocation;
}

Placement PlacementFromAllocation(const v1::Allocation& allocation) {
  Placement placement;
  placement.vm = allocation.vm();
  placement.instance_type = allocation.instance_type();
  placement.dedicated = allocation.dedicated();
  placement.vcpu_cpus.assign(allocation.vcpu_cpus().begin(), allocation.vcpu_cpus().end());
  placement.shared_cpus = ParseCpuList(allocation.shared_cpus());
  if (allocation.has_emulator_cpu()) placement.emulator_cpu = allocation.emulator_cpu();
  placement.numa_nodes.assign(allocation.numa_nodes().begin(), allocation.numa_nodes().end());
  for (const v1::GuestNumaCell& cell : allocation.guest_cells()) {
    placement.guest_cells.push_back(GuestNumaCell{
        cell.host_node(), std::vector<unsigned>(cell.vcpus().begin(), cell.vcpus().end()),
        cell.memory_kib()});
  }
  for (const v1::HugepageGrant& grant : allocation.hugepages()) {
    placement.hugepages.push_back(HugepageGrant{grant.node(), grant.size_kib(), grant.pages()});
  }
  placement.memory_kib = allocation.memory_kib();
  placement.shared_vcpus = allocation.shared_vcpus();
  placement.gpus = allocation.gpus();
  placement.gpu_device = allocation.gpu_device();
  return placement;
}

}  // namespace kvhost
