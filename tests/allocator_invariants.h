// An independent checker of the allocator's invariants, computed from the
// placements alone (not from the allocator's own counters).
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/catalog/instance_type.h"

namespace kvhost::testing {

inline std::vector<std::string> CheckInvariants(const Allocator& a, const Catalog& catalog) {
  std::vector<std::string> bad;
  const HostResources& host = a.host();
  std::map<unsigned, std::string> owner;  // CPU -> VM holding it exclusively
  auto claim = [&](unsigned cpu, const std::string& vm, const char* what) {
    auto [it, fresh] = owner.emplace(cpu, vm);
    if (!fresh && it->second != vm)
      bad.push_back("1: CPU " + std::to_string(cpu) + " (" + what + ") given to " + it->second +
                    " and " + vm);
    if (!fresh && it->second == vm && std::string(what) == "vcpu")
      bad.push_back("1: two vCPUs of " + vm + " on CPU " + std::to_string(cpu));
  };
  CpuSet held;
  std::map<std::pair<unsigned, uint64_t>, uint64_t> pages;
  std::map<unsigned, uint64_t> bound;
  uint64_t unbound = 0;
  unsigned shared_vcpus = 0;
  for (const auto& [vm, p] : a.placements()) {
    const InstanceType* type = catalog.Find(p.instance_type);
    for (unsigned cpu : p.vcpu_cpus) claim(cpu, vm, "vcpu");
    if (p.emulator_cpu) claim(*p.emulator_cpu, vm, "emulator");
    for (unsigned cpu : p.vcpu_cpus) {
      const CoreInfo* core = host.CoreOf(cpu);
      if (!core) {
        bad.push_back("2: " + vm + " vCPU on unknown CPU");
        continue;
      }
      if (!core->pus.IsSubsetOf(host.dedicated))
        bad.push_back("2: " + vm + " vCPU core " + core->pus.ToList() + " not wholly dedicated");
      held |= core->pus;
      // The emulator may take an idle sibling of its own VM's vCPU core, never
      // a vCPU's CPU, and never for realtime types.
      if (p.emulator_cpu && core->pus.Contains(*p.emulator_cpu) && type && type->realtime)
        bad.push_back("2: " + vm + " realtime emulator on a vCPU core");
      if (p.emulator_cpu && *p.emulator_cpu == cpu)
        bad.push_back("2: " + vm + " emulator on a vCPU's CPU");
      core->pus.ForEach([&, &vm = vm](unsigned s) {  // clang 14 cannot capture a binding
        auto it = owner.find(s);
        if (it != owner.end() && it->second != vm)
          bad.push_back("2: " + vm + " shares core " + core->pus.ToList() + " with " + it->second);
      });
    }
    if (p.emulator_cpu) held.Add(*p.emulator_cpu);
    // 3: guest cells mirror the host nodes, vCPUs sit on their cell's node.
    if (p.dedicated) {
      std::vector<int> cell_of(p.vcpu_cpus.size(), -1);
      if (p.guest_cells.size() != p.numa_nodes.size())
        bad.push_back("3: " + vm + " cells do not mirror nodes");
      for (size_t c = 0; c < p.guest_cells.size(); ++c)
        for (unsigned v : p.guest_cells[c].vcpus)
          if (v < cell_of.size()) cell_of[v] = static_cast<int>(c);
      for (size_t v = 0; v < p.vcpu_cpus.size(); ++v) {
        const CoreInfo* core = host.CoreOf(p.vcpu_cpus[v]);
        if (cell_of[v] < 0) {
          bad.push_back("3: " + vm + " vCPU " + std::to_string(v) + " in no cell");
          continue;
        }
        if (core && core->node != p.guest_cells[static_cast<size_t>(cell_of[v])].host_node)
          bad.push_back("3: " + vm + " vCPU " + std::to_string(v) + " not on its cell's node");
      }
      if (type && p.vcpu_cpus.size() != type->vcpus)
        bad.push_back("3: " + vm + " has the wrong vCPU count");
      // Each cell holds vCPUs and memory, all of the VM's memory, backed on its own node.
      uint64_t cells_kib = 0;
      for (const auto& c : p.guest_cells) {
        cells_kib += c.memory_kib;
        if (c.vcpus.empty() || c.memory_kib == 0)
          bad.push_back("3: " + vm + " has a cell without vCPUs or memory");
        if (!type || !type->hugepage_size_kib) continue;
        uint64_t backed = 0;
        for (const auto& g : p.hugepages)
          if (g.node == c.host_node && g.size_kib == type->hugepage_size_kib)
            backed += g.pages * g.size_kib;
        if (backed < c.memory_kib)
          bad.push_back("4: " + vm + " cell on node " + std::to_string(c.host_node) +
                        " has more memory than its node's pages back");
      }
      if (type && cells_kib != type->memory_kib)
        bad.push_back("3: " + vm + " cells hold " + std::to_string(cells_kib) + " KiB, not " +
                      std::to_string(type->memory_kib));
    }
    for (const auto& g : p.hugepages) pages[{g.node, g.size_kib}] += g.pages;
    if (type && type->hugepage_size_kib) {
      uint64_t kib = 0;
      for (const auto& g : p.hugepages) kib += g.pages * g.size_kib;
      if (kib < type->memory_kib)
        bad.push_back("4: " + vm + " hugepages cover less than its memory");
    }
    if (p.memory_kib && !p.numa_nodes.empty() && !p.guest_cells.empty()) {
      for (const auto& c : p.guest_cells) bound[c.host_node] += c.memory_kib;
    } else {
      unbound += p.memory_kib;
    }
    shared_vcpus += p.shared_vcpus;
    if (!p.shared_cpus.IsSubsetOf(host.shared))
      bad.push_back("5: " + vm + " floats on non-shared CPUs");
    if (type && type->realtime && !host.realtime_ready)
      bad.push_back("6: rt guest " + vm + " on a host that is not realtime-ready");
    if (type && type->gpus && p.gpus != type->gpus) bad.push_back("6: " + vm + " lacks its GPUs");
  }
  for (const auto& [key, n] : pages) {
    int ni = host.NodeIndex(key.first);
    const auto& pools = host.nodes[static_cast<size_t>(ni)].hugepages_free;
    auto it = pools.find(key.second);
    if (ni < 0 || it == pools.end() || n > it->second)
      bad.push_back("4: node " + std::to_string(key.first) + " gives " + std::to_string(n) +
                    " pages beyond free");
  }
  uint64_t total = unbound;
  for (const auto& [node, kib] : bound) {
    total += kib;
    int ni = host.NodeIndex(node);
    if (ni < 0 || kib > host.nodes[static_cast<size_t>(ni)].ordinary_memory_kib)
      bad.push_back("mem: node " + std::to_string(node) + " over-committed");
  }
  if (total > host.ordinary_memory_kib) bad.push_back("mem: host ordinary memory over-committed");
  const unsigned slots = static_cast<unsigned>(
      std::floor((host.shared - held).Count() * host.shared_cpu_ratio + 1e-9));
  if (shared_vcpus > slots)
    bad.push_back("5: " + std::to_string(shared_vcpus) + " shared vCPUs on " +
                  std::to_string(slots) + " slots");
  if (!(held - host.dedicated).Empty())
    bad.push_back("1: held CPUs outside the dedicated pool: " + (held - host.dedicated).ToList());
  if (!(held == a.HeldCpus()))
    bad.push_back("7: allocator's held CPUs " + a.HeldCpus().ToList() + " != placements' " +
                  held.ToList());
  return bad;
}

}  // namespace kvhost::testing
