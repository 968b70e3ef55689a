#include "agent/allocator/node_fit.h"

#include <algorithm>
#include <map>

#include "agent/allocator/units.h"

namespace kvhost::node_fit {
namespace {

// Picks cores covering `vcpus` CPUs, the smallest sufficient L3 group first.
std::vector<unsigned> PickCores(const HostResources& host, const std::vector<unsigned>& free_cores,
                                unsigned vcpus) {
  // L3 groups by index, each with its free CPUs summed once (a flat list:
  // capacity counts call this for every node of every placement).
  struct Group {
    unsigned l3 = 0, pus = 0;
  };
  std::vector<Group> groups;
  for (unsigned c : free_cores) {
    const CoreInfo& core = host.cores[c];
    auto g =
        std::find_if(groups.begin(), groups.end(), [&](const Group& x) { return x.l3 == core.l3; });
    if (g == groups.end()) g = groups.insert(groups.end(), {core.l3, 0});
    g->pus += core.pus.Count();
  }
  std::sort(groups.begin(), groups.end(),
            [](const Group& x, const Group& y) { return x.l3 < y.l3; });
  std::vector<unsigned> chosen;
  unsigned remaining = vcpus;
  while (remaining > 0 && !groups.empty()) {
    auto best = groups.end();
    for (auto it = groups.begin(); it != groups.end(); ++it) {
      if (it->pus >= remaining && (best == groups.end() || it->pus < best->pus)) best = it;
    }
    if (best == groups.end()) {  // no group holds the rest: take the largest whole
      best = std::max_element(groups.begin(), groups.end(),
                              [](const Group& a, const Group& b) { return a.pus < b.pus; });
    }
    for (unsigned c : free_cores) {
      if (remaining == 0) break;
      if (host.cores[c].l3 != best->l3) continue;
      chosen.push_back(c);
      remaining -= std::min(remaining, host.cores[c].pus.Count());
    }
    groups.erase(best);
  }
  return remaining == 0 ? chosen : std::vector<unsigned>{};
}

}  // namespace

FreeSnapshot TakeSnapshot(const Allocator& a, const InstanceType& type) {
  const HostResources& host = a.host();
  FreeSnapshot s;
  s.cores.reserve(host.nodes.size());
  s.cpus.reserve(host.nodes.size());
  s.memory_kib.reserve(host.nodes.size());
  for (size_t ni = 0; ni < host.nodes.size(); ++ni) {
    s.cores.push_back(a.FreeCores(ni));
    unsigned cpus = 0;
    for (unsigned c : s.cores.back()) cpus += host.cores[c].pus.Count();
    s.cpus.push_back(cpus);
    s.memory_kib.push_back(type.hugepage_size_kib ? a.FreeHugepages(ni, type.hugepage_size_kib) *
                                                        type.hugepage_size_kib
                                                  : a.FreeBoundMemoryKib(ni));
  }
  return s;
}

NodeTry TryNode(const Allocator& a, const FreeSnapshot& snap, size_t ni, unsigned vcpus,
                uint64_t memory_kib, const InstanceType& type, bool with_emulator,
                const CpuSet& taken_elsewhere) {
  const HostResources& host = a.host();
  const NodeResources& node = host.nodes[ni];
  NodeTry t;
  t.memory_kib = memory_kib;
  std::vector<unsigned> free_cores;
  free_cores.reserve(snap.cores[ni].size());
  for (unsigned c : snap.cores[ni])
    if (!host.cores[c].pus.Intersects(taken_elsewhere)) free_cores.push_back(c);
  for (unsigned c : free_cores) t.free_cpus += host.cores[c].pus.Count();
  // Messages are built only on refusal: capacity counts place thousands of times.
  auto where = [&] { return "node " + std::to_string(node.id); };

  CpuSet chosen_pus;
  if (vcpus > 0) {
    t.cores = PickCores(host, free_cores, vcpus);
    if (t.cores.empty())
      t.cores_short =
          StrCat({where(), " has ", std::to_string(free_cores.size()), " free dedicated cores (",
                  std::to_string(t.free_cpus), " CPUs), needs ", std::to_string(vcpus), " CPUs"});
    for (unsigned c : t.cores) {
      chosen_pus |= host.cores[c].pus;
      host.cores[c].pus.ForEach([&](unsigned cpu) {
        if (t.cpus.size() < vcpus) t.cpus.push_back(cpu);
      });
    }
  }
  // vCPUs that do not fill their last core leave siblings no other VM may use.
  // KubeVirt (AlignCPUs, full-pcpus-only) puts the emulator on such a sibling,
  // so it costs no CPU at all; realtime types keep their vCPU cores to the
  // vCPUs alone, where a busy emulator sibling would add latency.
  CpuSet idle_siblings;
  if (with_emulator && !type.realtime) {
    idle_siblings = chosen_pus;
    for (unsigned cpu : t.cpus) idle_siblings.Remove(cpu);
  }
  if (with_emulator && !idle_siblings.Empty()) {
    t.emulator = static_cast<unsigned>(idle_siblings.First());
  } else if (with_emulator) {
    const CpuSet candidates = a.EmulatorCandidates(ni) - chosen_pus - taken_elsewhere;
    // Prefer a core that already runs emulator threads, then a core that cannot
    // take vCPUs anyway, and only then open a free core (the highest, so low
    // cores stay contiguous for vCPUs).
    std::optional<unsigned> shared_core, partial_core, fresh_core;
    candidates.ForEach([&](unsigned cpu) {
      const CoreInfo* core = host.CoreOf(cpu);
      if (!core) return;
      if (core->pus.Intersects(a.HeldCpus())) {
        if (!shared_core) shared_core = cpu;
      } else if (!core->dedicable) {
        if (!partial_core) partial_core = cpu;
      } else {
        fresh_core = cpu;
      }
    });
    t.emulator = shared_core ? shared_core : partial_core ? partial_core : fresh_core;
    if (!t.emulator)
      t.emulator_short = where() + " has no dedicated CPU left for the emulator thread";
  }
  if (type.hugepage_size_kib) {
    t.pages = PagesFor(memory_kib, type.hugepage_size_kib);
    const uint64_t free = a.FreeHugepages(ni, type.hugepage_size_kib);
    if (free < t.pages)
      t.pages_short = StrCat({where(), " has ", std::to_string(free), " free ",
                              FormatKib(type.hugepage_size_kib), " hugepages"});
  } else if (a.FreeBoundMemoryKib(ni) < memory_kib) {
    t.memory_short =
        StrCat({where(), " has ", FormatKib(a.FreeBoundMemoryKib(ni)), " ordinary memory free"});
  }
  t.ok = t.cores_short.empty() && t.emulator_short.empty() && t.pages_short.empty() &&
         t.memory_short.empty();
  t.leftover = t.free_cpus - std::min<unsigned>(t.free_cpus, chosen_pus.Count());
  return t;
}

std::string CpuNeed(const InstanceType& type) {
  return StrCat({std::to_string(type.vcpus), " vCPUs on whole cores",
                 type.isolate_emulator_thread ? " + 1 emulator CPU" : ""});
}

// Shared guests must keep their ratio when dedicated cores leave the shared pool.
std::string SharedSqueeze(const Allocator& a, const CpuSet& newly_held) {
  const HostResources& host = a.host();
  const unsigned cpus = (host.shared - a.HeldCpus() - newly_held).Count();
  const unsigned slots = static_cast<unsigned>(cpus * host.shared_cpu_ratio + 1e-9);
  if (a.SharedVcpusUsed() <= slots) return {};
  return "taking these cores would leave " + std::to_string(a.SharedVcpusUsed()) +
         " shared vCPUs on " + std::to_string(cpus) + " shared CPUs (ratio " +
         std::to_string(host.shared_cpu_ratio).substr(0, 4) + ")";
}

}  // namespace kvhost::node_fit
