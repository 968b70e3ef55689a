#include "agent/allocator/agent/node_fit.h"

#include <algorithm>
#include <map>

#include "agent/allocator/refusal_text.h"

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

namespace {

// One try, step by step: each Take* records what it took or what fell short,
// and says whether the node can still fit the ask.
class NodeAccumulator {
 public:
  NodeAccumulator(const Allocator& a, const FreeSnapshot& snap, const InstanceType& type,
                  const NodeAsk& ask, const CpuSet& taken_elsewhere)
      : a_(a), host_(a.host()), snap_(snap), type_(type), taken_elsewhere_(taken_elsewhere) {
    t_.ask = ask;
  }

  // Hugepages or ordinary memory for the ask's share of the guest memory.
  bool TakeMemory() {
    const size_t ni = t_.ask.node;
    if (type_.hugepage_size_kib) {
      t_.take.pages = PagesFor(t_.ask.memory_kib, type_.hugepage_size_kib);
      t_.short_of.pages = a_.FreeHugepages(ni, type_.hugepage_size_kib) < t_.take.pages;
    } else {
      t_.short_of.memory = a_.FreeBoundMemoryKib(ni) < t_.ask.memory_kib;
    }
    return !t_.short_of.pages && !t_.short_of.memory;
  }

  // Whole free cores for the vCPUs, the smallest sufficient L3 group first.
  bool TakeWholeCores() {
    std::span<const unsigned> free_cores = FreeCores();
    t_.free_cores = static_cast<unsigned>(free_cores.size());
    const unsigned vcpus = t_.ask.vcpus;
    if (vcpus == 0) return true;
    // PickCores succeeds exactly when the free cores hold `vcpus` CPUs.
    if (t_.free_cpus >= vcpus) t_.take.cores = PickCores(host_, free_cores, vcpus);
    t_.short_of.cores = t_.take.cores.empty();
    if (!t_.take.cores.empty()) t_.take.cpus.reserve(vcpus);
    for (unsigned c : t_.take.cores) {
      chosen_pus_ |= host_.cores[c].pus;
      host_.cores[c].pus.ForEach([&](unsigned cpu) {
        if (t_.take.cpus.size() < vcpus) t_.take.cpus.push_back(cpu);
      });
    }
    return !t_.short_of.cores;
  }

  // vCPUs that do not fill their last core leave siblings no other VM may use.
  // KubeVirt (AlignCPUs, full-pcpus-only) puts the emulator on such a sibling,
  // so it costs no CPU at all; realtime types keep their vCPU cores to the
  // vCPUs alone, where a busy emulator sibling would add latency.
  void TakeEmulatorCpu() {
    if (!t_.ask.emulator) return;
    CpuSet idle_siblings;
    if (!type_.realtime) {
      idle_siblings = chosen_pus_;
      for (unsigned cpu : t_.take.cpus) idle_siblings.Remove(cpu);
    }
    t_.take.emulator = idle_siblings.Empty()
                           ? EmulatorElsewhere()
                           : std::optional<unsigned>(static_cast<unsigned>(idle_siblings.First()));
    t_.short_of.emulator = !t_.take.emulator;
  }

  NodeTry Done() {
    t_.leftover = t_.free_cpus - std::min<unsigned>(t_.free_cpus, chosen_pus_.Count());
    return std::move(t_);
  }

 private:
  // The node's free cores, less those with CPUs another node of the span took
  // (only a span's later nodes have any); counts their CPUs into free_cpus.
  std::span<const unsigned> FreeCores() {
    std::span<const unsigned> free_cores = snap_.cores(t_.ask.node);
    if (taken_elsewhere_.Empty()) {
      t_.free_cpus = snap_.cpus(t_.ask.node);
      return free_cores;
    }
    untaken_.reserve(free_cores.size());
    for (unsigned c : free_cores)
      if (!host_.cores[c].pus.Intersects(taken_elsewhere_)) untaken_.push_back(c);
    for (unsigned c : untaken_) t_.free_cpus += host_.cores[c].pus.Count();
    return untaken_;
  }

  // Prefers a core that already runs emulator threads, then a core that cannot
  // take vCPUs anyway, and only then opens a free core (the highest, so low
  // cores stay contiguous for vCPUs).
  std::optional<unsigned> EmulatorElsewhere() const {
    const CpuSet candidates = a_.EmulatorCandidates(t_.ask.node) - chosen_pus_ - taken_elsewhere_;
    std::optional<unsigned> shared_core, partial_core, fresh_core;
    candidates.ForEach([&](unsigned cpu) {
      const CoreInfo* core = host_.CoreOf(cpu);
      if (!core) return;
      if (core->pus.Intersects(a_.HeldCpus())) {
        if (!shared_core) shared_core = cpu;
      } else if (!core->dedicable) {
        if (!partial_core) partial_core = cpu;
      } else {
        fresh_core = cpu;
      }
    });
    return shared_core ? shared_core : partial_core ? partial_core : fresh_core;
  }

  const Allocator& a_;
  const HostResources& host_;
  const FreeSnapshot& snap_;
  const InstanceType& type_;
  const CpuSet& taken_elsewhere_;
  NodeTry t_;
  CpuSet chosen_pus_;              // every CPU of the chosen cores
  std::vector<unsigned> untaken_;  // FreeCores' list when another node took CPUs
};

// Shared CPUs left once `newly_held` is dedicated too.
unsigned SharedCpusLeft(const Allocator& a, const CpuSet& newly_held) {
  return (a.SharedPoolNow() - newly_held).Count();
}

}  // namespace

NodeTry NodeFitter::Try(const NodeAsk& ask, const CpuSet& taken_elsewhere,
                        Shortfalls look_for) const {
  NodeAccumulator acc(a_, snap_, type_, ask, taken_elsewhere);
  const bool all = look_for == Shortfalls::kAll;
  // Memory first: the cheapest check, and the one a full node fails.
  if (!acc.TakeMemory() && !all) return acc.Done();
  if (!acc.TakeWholeCores() && !all) return acc.Done();
  acc.TakeEmulatorCpu();
  return acc.Done();
}

// Shared guests must keep their ratio when dedicated cores leave the shared pool.
bool Squeezes(const Allocator& a, const CpuSet& newly_held) {
  return a.SharedVcpusUsed() > a.host().SharedSlotsFor(SharedCpusLeft(a, newly_held));
}

// "s" unless exactly one: refusal lines read as sentences ("1 free dedicated core").
const char* Plural(unsigned n) { return n == 1 ? "" : "s"; }

void AppendCoresShort(fmt::memory_buffer& out, const Allocator& a, const NodeTry& t) {
  fmt::format_to(fmt::appender(out),
                 FMT_COMPILE("node {} has {} free dedicated core{} ({} CPU{}), needs {} CPU{}"),
                 a.host().nodes[t.ask.node].id, t.free_cores, Plural(t.free_cores), t.free_cpus,
                 Plural(t.free_cpus), t.ask.vcpus, Plural(t.ask.vcpus));
}

void AppendCpuNeed(fmt::memory_buffer& out, const InstanceType& type) {
  fmt::format_to(fmt::appender(out), FMT_COMPILE("{} vCPU{} on whole cores{}"), type.vcpus,
                 Plural(type.vcpus), type.isolate_emulator_thread ? " + 1 emulator CPU" : "");
}

void AddShortfallWords(const Allocator& a, const InstanceType& type, const NodeTry& t,
                       RefusalLines& lines) {
  fmt::memory_buffer out;
  const auto next = [&] {
    if (out.size()) fmt::format_to(fmt::appender(out), FMT_COMPILE("; "));
    return fmt::appender(out);
  };
  const unsigned id = a.host().nodes[t.ask.node].id;
  if (t.short_of.cores) {
    next();
    AppendCoresShort(out, a, t);
  }
  if (t.short_of.emulator)
    fmt::format_to(next(), FMT_COMPILE("node {} has no dedicated CPU left for the emulator thread"),
                   id);
  if (t.short_of.pages)
    fmt::format_to(next(), FMT_COMPILE("node {} has {} free {} hugepages"), id,
                   a.FreeHugepages(t.ask.node, type.hugepage_size_kib),
                   Kib{type.hugepage_size_kib});
  if (t.short_of.memory)
    fmt::format_to(next(), FMT_COMPILE("node {} has {} ordinary memory free"), id,
                   Kib{a.FreeBoundMemoryKib(t.ask.node)});
  if (t.short_of.shared) {
    CpuSet held;
    AddHeldCpus(a.host(), t, held);
    fmt::format_to(
        next(),
        FMT_COMPILE("taking these cores would leave {} shared vCPUs on {} shared CPUs (ratio {})"),
        a.SharedVcpusUsed(), SharedCpusLeft(a, held), Ratio{a.host().shared_cpu_ratio});
  }
  if (out.size()) lines.push_back({out.data(), out.size()});
}

}  // namespace kvhost::node_fit
