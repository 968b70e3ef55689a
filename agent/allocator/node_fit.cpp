#include "agent/allocator/node_fit.h"

#include <algorithm>
#include <map>

#include "agent/allocator/units.h"

namespace kvhost::node_fit {
namespace {

// Picks cores covering `vcpus` CPUs, the smallest sufficient L3 group first.
std::vector<unsigned> PickCores(const HostResources& host, std::span<const unsigned> free_cores,
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
  size_t listed = 0;  // room for every node's cores, whatever they share
  for (const auto& node : host.nodes) listed += node.cores.size();
  s.on_heap = host.nodes.size() > FreeSnapshot::kInlineNodes || listed > FreeSnapshot::kInlineCores;
  if (s.on_heap) {
    s.heap_nodes.resize(host.nodes.size());
    s.heap_cores.resize(listed);
  }
  FreeSnapshot::Node* nodes = s.on_heap ? s.heap_nodes.data() : s.inline_nodes.data();
  unsigned* cores = s.on_heap ? s.heap_cores.data() : s.inline_cores.data();
  size_t count = 0;
  for (size_t ni = 0; ni < host.nodes.size(); ++ni) {
    // Counted in locals, stored once: stores into the list through a pointer
    // would otherwise make every field of the node be reloaded per core.
    const size_t begin = count;
    unsigned cpus = 0;
    for (unsigned c : host.nodes[ni].cores) {  // Allocator::FreeCores, into one list
      if (!a.CoreIsFree(c)) continue;
      cores[count++] = c;
      cpus += host.cores[c].pus.Count();
    }
    FreeSnapshot::Node& n = nodes[ni];
    n.begin = begin;
    n.end = count;
    n.cpus = cpus;
    n.memory_kib = type.hugepage_size_kib
                       ? a.FreeHugepages(ni, type.hugepage_size_kib) * type.hugepage_size_kib
                       : a.FreeBoundMemoryKib(ni);
  }
  return s;
}

NodeTry TryNode(const Allocator& a, const FreeSnapshot& snap, size_t ni, unsigned vcpus,
                uint64_t memory_kib, const InstanceType& type, bool with_emulator,
                const CpuSet& taken_elsewhere, bool every_failure) {
  const HostResources& host = a.host();
  NodeTry t;
  t.node = ni;
  t.vcpus = vcpus;
  t.memory_kib = memory_kib;
  // Memory first: the cheapest check, and the one a full node fails.
  if (type.hugepage_size_kib) {
    t.pages = PagesFor(memory_kib, type.hugepage_size_kib);
    t.pages_short = a.FreeHugepages(ni, type.hugepage_size_kib) < t.pages;
  } else {
    t.memory_short = a.FreeBoundMemoryKib(ni) < memory_kib;
  }
  if (!every_failure && (t.pages_short || t.memory_short)) return t;

  std::span<const unsigned> free_cores = snap.cores(ni);
  std::vector<unsigned> untaken;  // only a span's later nodes have CPUs taken elsewhere
  if (taken_elsewhere.Empty()) {
    t.free_cpus = snap.cpus(ni);
  } else {
    untaken.reserve(free_cores.size());
    for (unsigned c : free_cores)
      if (!host.cores[c].pus.Intersects(taken_elsewhere)) untaken.push_back(c);
    for (unsigned c : untaken) t.free_cpus += host.cores[c].pus.Count();
    free_cores = untaken;
  }
  t.free_cores = static_cast<unsigned>(free_cores.size());

  CpuSet chosen_pus;
  if (vcpus > 0) {
    // PickCores succeeds exactly when the free cores hold `vcpus` CPUs.
    if (t.free_cpus >= vcpus) t.cores = PickCores(host, free_cores, vcpus);
    t.cores_short = t.cores.empty();
    if (!every_failure && t.cores_short) return t;
    if (!t.cores.empty()) t.cpus.reserve(vcpus);
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
    t.emulator_short = !t.emulator;
  }
  t.ok = !t.cores_short && !t.emulator_short && !t.pages_short && !t.memory_short;
  t.leftover = t.free_cpus - std::min<unsigned>(t.free_cpus, chosen_pus.Count());
  return t;
}

void AppendCoresShort(std::string& out, const Allocator& a, const NodeTry& t) {
  StrAppend(out, {"node ", Decimal(a.host().nodes[t.node].id), " has ", Decimal(t.free_cores),
                  " free dedicated cores (", Decimal(t.free_cpus), " CPUs), needs ",
                  Decimal(t.vcpus), " CPUs"});
}

std::string CoresShort(const Allocator& a, const NodeTry& t) {
  std::string out;
  AppendCoresShort(out, a, t);
  return out;
}

std::string EmulatorShort(const Allocator& a, const NodeTry& t) {
  return StrCat({"node ", Decimal(a.host().nodes[t.node].id),
                 " has no dedicated CPU left for the emulator thread"});
}

std::string PagesShort(const Allocator& a, const NodeTry& t, const InstanceType& type) {
  return StrCat({"node ", Decimal(a.host().nodes[t.node].id), " has ",
                 Decimal(a.FreeHugepages(t.node, type.hugepage_size_kib)), " free ",
                 Kib(type.hugepage_size_kib), " hugepages"});
}

std::string MemoryShort(const Allocator& a, const NodeTry& t) {
  return StrCat({"node ", Decimal(a.host().nodes[t.node].id), " has ",
                 Kib(a.FreeBoundMemoryKib(t.node)), " ordinary memory free"});
}

void AppendCpuNeed(std::string& out, const InstanceType& type) {
  StrAppend(out, {Decimal(type.vcpus), " vCPUs on whole cores",
                  type.isolate_emulator_thread ? " + 1 emulator CPU" : ""});
}

namespace {

// Shared CPUs left once `newly_held` is dedicated too.
unsigned SharedCpusLeft(const Allocator& a, const CpuSet& newly_held) {
  return (a.host().shared - a.HeldCpus() - newly_held).Count();
}

}  // namespace

// Shared guests must keep their ratio when dedicated cores leave the shared pool.
bool Squeezes(const Allocator& a, const CpuSet& newly_held) {
  const unsigned cpus = SharedCpusLeft(a, newly_held);
  return a.SharedVcpusUsed() > static_cast<unsigned>(cpus * a.host().shared_cpu_ratio + 1e-9);
}

std::string SharedSqueeze(const Allocator& a, const CpuSet& newly_held) {
  if (!Squeezes(a, newly_held)) return {};
  const HostResources& host = a.host();
  const unsigned cpus = SharedCpusLeft(a, newly_held);
  return "taking these cores would leave " + std::to_string(a.SharedVcpusUsed()) +
         " shared vCPUs on " + std::to_string(cpus) + " shared CPUs (ratio " +
         std::to_string(host.shared_cpu_ratio).substr(0, 4) + ")";
}

}  // namespace kvhost::node_fit
