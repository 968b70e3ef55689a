#include "agent/allocator/agent/agent_policy.h"

#include <fmt/format.h>

#include "agent/allocator/refusal_text.h"

namespace kvhost {

std::unique_ptr<PlacementPolicy> AgentPolicy::Clone() const {
  return std::make_unique<AgentPolicy>();
}

PlaceResult AgentPolicy::Place(const Allocator& books, const InstanceType& type,
                               const std::string& vm) const {
  return type.Dedicated() ? PlaceDedicated(books, type, vm) : PlaceShared(books, type, vm);
}

void AgentPolicy::Commit(const Allocator& books, const Placement& p) {
  auto fail = [&](const std::string& why) {
    throw AllocationConflict(fmt::format("cannot commit {} ({}): {}", p.vm, p.instance_type, why));
  };
  if (books.placements().count(p.vm)) fail("already placed");
  const HostResources& host = books.host();
  const CpuSet& held = books.HeldCpus();
  CpuSet vcpu_cores;
  CpuSet seen;
  for (unsigned cpu : p.vcpu_cpus) {
    const CoreInfo* core = host.CoreOf(cpu);
    if (!core) fail(fmt::format("vCPU on CPU {}, which is offline or unknown", cpu));
    if (seen.Contains(cpu)) fail(fmt::format("two vCPUs on CPU {}", cpu));
    seen.Add(cpu);
    if (!core->dedicable) fail(fmt::format("CPU {} is not in the dedicated pool", cpu));
    if (core->pus.Intersects(held))
      fail(fmt::format("core {} of CPU {} is held by another VM ({})", core->pus.ToList(), cpu,
                       (core->pus & held).ToList()));
    vcpu_cores |= core->pus;
  }
  if (p.emulator_cpu) {
    const unsigned cpu = *p.emulator_cpu;
    if (!host.dedicated.Contains(cpu))
      fail(fmt::format("emulator CPU {} is not in the dedicated pool", cpu));
    if (held.Contains(cpu)) fail(fmt::format("emulator CPU {} is held by another VM", cpu));
    // An idle sibling of the VM's own vCPU core is allowed (see node_fit.cpp).
    if (seen.Contains(cpu)) fail(fmt::format("emulator CPU {} is a vCPU's CPU", cpu));
  }
  for (const auto& g : p.hugepages) {
    int ni = host.NodeIndex(g.node);
    const uint64_t free = ni < 0 ? 0 : books.FreeHugepages(static_cast<size_t>(ni), g.size_kib);
    if (g.pages > free)
      fail(fmt::format("node {} has {} free {} hugepages, needs {}", g.node, free, Kib{g.size_kib},
                       g.pages));
  }
  const auto bound = BoundMemoryKib(p);
  for (const auto& [node, kib] : bound) {
    int ni = host.NodeIndex(node);
    if (ni < 0) fail(fmt::format("memory bound to node {}, which holds no guests", node));
    const uint64_t free = books.FreeBoundMemoryKib(static_cast<size_t>(ni));
    if (kib > free)
      fail(fmt::format("node {} has {} ordinary memory free, needs {}", node, Kib{free}, Kib{kib}));
  }
  if (bound.empty() && p.memory_kib > books.FreeOrdinaryMemoryKib())
    fail(fmt::format("{} ordinary memory free, needs {}", Kib{books.FreeOrdinaryMemoryKib()},
                     Kib{p.memory_kib}));
  const CpuSet newly_held =
      vcpu_cores | (p.emulator_cpu ? CpuSet::Range(*p.emulator_cpu, *p.emulator_cpu) : CpuSet{});
  const unsigned slots_after = host.SharedSlotsFor((books.SharedPoolNow() - newly_held).Count());
  if (books.SharedVcpusUsed() + p.shared_vcpus > slots_after)
    fail(fmt::format("shared pool would hold {} vCPUs on {} slots",
                     books.SharedVcpusUsed() + p.shared_vcpus, slots_after));
  if (p.gpus > books.FreeGpus(p.gpu_device))
    fail(fmt::format("{} GPUs {} free, needs {}", books.FreeGpus(p.gpu_device), p.gpu_device,
                     p.gpus));
}

TypeCapacity AgentPolicy::Count(const Allocator& books, const InstanceType& type, unsigned limit,
                                TryNames& names) const {
  TypeCapacity out;
  out.type = &type;
  // The first try goes to `books` itself: a type that does not fit at all
  // (most of them on small hosts) then costs no copy.
  PlaceResult r = books.Place(type, names.Current());
  if (!r.placement) {
    out.blockers = std::move(r.reasons);
    return out;
  }
  Allocator copy = books;
  // Placements are committed unkept, so the copy's names stay those of `books`
  // and Place's "already placed" check sees exactly what it would have seen.
  for (;;) {
    copy.CommitUnkept(*r.placement);
    if (++out.count >= limit) break;
    r = copy.Place(type, names.Try(out.count));
    if (!r.placement) {
      out.blockers = std::move(r.reasons);
      break;
    }
  }
  return out;
}

}  // namespace kvhost
