#include "agent/allocator/kubelet/kubelet_memory.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "base/sizes.h"

namespace kvhost::kubelet {
namespace {

bool SameGroup(std::vector<int> a, std::vector<int> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

// Takes `size` from the nodes in order, as updateMachineState and validateState do.
void Reserve(MachineMemoryState& machine, const std::vector<int>& nodes, const std::string& type,
             uint64_t size) {
  for (int id : nodes) {
    NumaMemoryState& n = machine[id];
    ++n.assignments;
    n.cells = nodes;
    if (size == 0) continue;
    MemoryTableState& t = n.memory[type];
    if (t.free == 0) continue;
    const uint64_t take = std::min(t.free, size);
    t.reserved += take;
    t.free -= take;
    size -= take;
  }
}

bool Satisfies(const MachineMemoryState& machine, NumaMask mask, const MemoryRequests& requests) {
  for (const auto& [type, size] : requests) {
    uint64_t free = 0;
    for (int id : MaskBits(mask))
      free += machine.at(id).memory.contains(type) ? machine.at(id).memory.at(type).free : 0;
    if (free < size) return false;
  }
  return true;
}

bool ViolatesGroups(const MachineMemoryState& machine, NumaMask mask) {
  const auto bits = MaskBits(mask);
  if (bits.size() == 1) return false;
  for (int id : bits) {
    const NumaMemoryState& n = machine.at(id);
    if (n.assignments == 0) continue;
    if (n.cells.size() == 1 || !SameGroup(n.cells, bits)) return true;
  }
  return false;
}

// findBestHint: preferred first, then narrowest.
std::optional<TopologyHint> BestHint(const std::vector<TopologyHint>& hints) {
  std::optional<TopologyHint> best;
  for (const auto& h : hints) {
    if (!best) {
      best = h;
      continue;
    }
    if (h.preferred && !best->preferred) {
      best = h;
      continue;
    }
    const int hc = std::popcount(*h.affinity), bc = std::popcount(*best->affinity);
    const bool narrower = hc == bc ? *h.affinity < *best->affinity : hc < bc;
    if (h.preferred == best->preferred && narrower) best = h;
  }
  return best;
}

}  // namespace

MemoryStaticPolicy::MemoryStaticPolicy(std::vector<NumaMemoryInfo> nodes,
                                       std::map<int, std::map<std::string, uint64_t>> reserved)
    : nodes_(std::move(nodes)), reserved_(std::move(reserved)) {
  uint64_t total = 0;
  for (const auto& [node, resources] : reserved_)
    if (auto it = resources.find("memory"); it != resources.end()) total += it->second;
  if (total == 0)
    throw std::invalid_argument("[memorymanager] you should specify the system reserved memory");
}

MachineMemoryState MemoryStaticPolicy::DefaultMachineState() const {
  MachineMemoryState machine;
  for (const auto& node : nodes_) {
    NumaMemoryState& n = machine[node.id];
    n.cells = {node.id};
    const auto reserved = [&](const std::string& type) -> uint64_t {
      auto r = reserved_.find(node.id);
      if (r == reserved_.end()) return 0;
      auto t = r->second.find(type);
      return t == r->second.end() ? 0 : t->second;
    };
    uint64_t in_hugepages = 0;
    for (const auto& [page_kib, pages] : node.hugepages) {
      const std::string type = HugepageResourceName(page_kib);
      const uint64_t total = pages * page_kib * 1024;
      const uint64_t allocatable = total - reserved(type);
      n.memory[type] = {total, reserved(type), allocatable, 0, allocatable};
      in_hugepages += total;
    }
    const uint64_t allocatable = node.memory - reserved("memory") - in_hugepages;
    n.memory["memory"] = {node.memory, reserved("memory"), allocatable, 0, allocatable};
  }
  return machine;
}

namespace {

// validateState's replay of every block onto the default machine state.
std::string Replay(const MemoryManagerAssignments& s, MachineMemoryState& expected) {
  for (const auto& [pod, containers] : s.entries)
    for (const auto& [name, blocks] : containers)
      for (const auto& b : blocks) {
        uint64_t size = b.size;
        for (int id : b.numa_affinity) {
          auto node = expected.find(id);
          if (node == expected.end())
            return "[memorymanager] (pod: " + pod + ", container: " + name +
                   ") the memory assignment uses the NUMA that does not exist";
          ++node->second.assignments;
          node->second.cells = b.numa_affinity;
          auto table = node->second.memory.find(b.type);
          if (table == node->second.memory.end())
            return "[memorymanager] (pod: " + pod + ", container: " + name +
                   ") the memory assignment uses memory resource that does not exist";
          if (size == 0 || table->second.free == 0) continue;
          const uint64_t take = std::min(table->second.free, size);
          table->second.reserved += take;
          table->second.free -= take;
          size -= take;
        }
      }
  return "";
}

// areMachineStatesEqual: per node the same assignments, group and tables, and
// per group the same free and reserved totals.
bool SameMachine(const MachineMemoryState& a, const MachineMemoryState& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [id, na] : a) {
    auto it = b.find(id);
    if (it == b.end()) return false;
    const NumaMemoryState& nb = it->second;
    if (na.assignments != nb.assignments || !SameGroup(na.cells, nb.cells) ||
        na.memory.size() != nb.memory.size())
      return false;
    for (const auto& [type, ta] : na.memory) {
      auto tb = nb.memory.find(type);
      if (tb == nb.memory.end() || ta.total != tb->second.total ||
          ta.system_reserved != tb->second.system_reserved ||
          ta.allocatable != tb->second.allocatable)
        return false;
      uint64_t fa = 0, ra = 0, fb = 0, rb = 0;
      for (int cell : na.cells) {
        const auto& x = a.at(cell).memory.at(type);
        const auto& y = b.at(cell).memory.at(type);
        fa += x.free, ra += x.reserved, fb += y.free, rb += y.reserved;
      }
      if (fa != fb || ra != rb) return false;
    }
  }
  return true;
}

uint64_t FieldSum(const MachineMemoryState& m, const std::vector<int>& nodes,
                  const std::string& type, uint64_t MemoryTableState::*field) {
  uint64_t sum = 0;
  for (int id : nodes)
    if (auto t = m.at(id).memory.find(type); t != m.at(id).memory.end()) sum += t->second.*field;
  return sum;
}

// The node may take part in `bits`: a single-node hint on a grouped node, or a
// multi-node hint over a node used alone or by another group, is not possible.
bool GroupAllows(const MachineMemoryState& m, const std::vector<int>& bits) {
  if (bits.size() == 1) return m.at(bits[0]).cells.size() <= 1;
  for (int id : bits) {
    const NumaMemoryState& n = m.at(id);
    if (n.assignments > 0 && (n.cells.size() == 1 || !SameGroup(n.cells, bits))) return false;
  }
  return true;
}

}  // namespace

std::string MemoryStaticPolicy::Start(MemoryManagerAssignments& s) const {
  if (s.machine.empty()) {
    if (!s.entries.empty())
      return "[memorymanager] machine state can not be empty when it has memory assignments";
    s.machine = DefaultMachineState();
    return "";
  }
  MachineMemoryState expected = DefaultMachineState();
  if (std::string err = Replay(s, expected); !err.empty()) return err;
  if (!SameMachine(s.machine, expected))
    return "[memorymanager] the expected machine state is different from the real one";
  return "";
}

std::map<std::string, std::vector<TopologyHint>> MemoryStaticPolicy::CalculateHints(
    const MachineMemoryState& machine, const MemoryRequests& requests) const {
  std::vector<int> numas;
  for (const auto& [id, n] : machine) numas.push_back(id);
  int min_affinity = static_cast<int>(numas.size());
  std::map<std::string, std::vector<TopologyHint>> hints;
  for (size_t k = 1; k <= numas.size(); ++k) {
    std::vector<bool> pick(numas.size(), false);
    std::fill(pick.begin(), pick.begin() + static_cast<long>(k), true);
    do {
      std::vector<int> bits;
      for (size_t i = 0; i < numas.size(); ++i)
        if (pick[i]) bits.push_back(numas[i]);
      bool fits = true;
      for (const auto& [type, size] : requests)
        fits = fits && FieldSum(machine, bits, type, &MemoryTableState::allocatable) >= size;
      if (!fits) continue;
      min_affinity = std::min(min_affinity, static_cast<int>(bits.size()));
      if (!GroupAllows(machine, bits)) continue;
      for (const auto& [type, size] : requests)
        fits = fits && FieldSum(machine, bits, type, &MemoryTableState::free) >= size;
      if (!fits) continue;
      for (const auto& [type, size] : requests) hints[type].push_back({MaskOf(bits), false});
    } while (std::prev_permutation(pick.begin(), pick.end()));
  }
  for (auto& [type, list] : hints)
    for (auto& h : list) h.preferred = std::popcount(*h.affinity) == min_affinity;
  return hints;
}

namespace {

// isHintInGroup: every node of `hint` is in `group`.
bool Within(NumaMask hint, NumaMask group) { return (hint & ~group) == 0; }

}  // namespace

std::string MemoryStaticPolicy::Allocate(MemoryManagerAssignments& s, const std::string& pod,
                                         const std::string& container,
                                         const MemoryRequests& requests,
                                         const TopologyHint& hint) const {
  if (s.entries.contains(pod) && s.entries.at(pod).contains(container)) return "";
  MachineMemoryState machine = s.machine;
  TopologyHint best = hint;
  if (!best.affinity) {
    const auto hints = CalculateHints(machine, requests);
    if (hints.empty())
      return "[memorymanager] failed to get the default NUMA affinity, no NUMA nodes with enough "
             "memory is available";
    auto it = hints.find("memory");
    const auto found = it == hints.end() ? std::nullopt : BestHint(it->second);
    if (!found) return "[memorymanager] failed to get the default NUMA affinity";
    if (!found->preferred && best.preferred)
      return "[memorymanager] failed to find the default preferred hint";
    best = *found;
  }
  if (!Satisfies(machine, *best.affinity, requests)) {
    std::vector<TopologyHint> wider;
    const auto hints = CalculateHints(machine, requests);
    if (auto it = hints.find("memory"); it != hints.end())
      for (const auto& h : it->second)
        if (Within(*best.affinity, *h.affinity)) wider.push_back(h);
    if (wider.empty())
      return "[memorymanager] failed to find NUMA nodes to extend the current topology hint";
    const TopologyHint extended = *BestHint(wider);
    if (!extended.preferred && best.preferred)
      return "[memorymanager] failed to find the extended preferred hint";
    best = extended;
  }
  if (ViolatesGroups(machine, *best.affinity))
    return "[memorymanager] preferred hint violates NUMA node allocation";
  std::vector<MemoryBlockState> blocks;
  const std::vector<int> bits = MaskBits(*best.affinity);
  for (const auto& [type, size] : requests) {
    blocks.push_back({bits, type, size});
    Reserve(machine, bits, type, size);
  }
  s.machine = std::move(machine);
  s.entries[pod][container] = std::move(blocks);
  return "";
}

void MemoryStaticPolicy::RemoveContainer(MemoryManagerAssignments& s, const std::string& pod,
                                         const std::string& container) const {
  auto p = s.entries.find(pod);
  if (p == s.entries.end() || !p->second.contains(container)) return;
  const std::vector<MemoryBlockState> blocks = p->second.at(container);
  p->second.erase(container);
  if (p->second.empty()) s.entries.erase(p);
  for (const auto& b : blocks) {
    uint64_t released = b.size;
    for (int id : b.numa_affinity) {
      NumaMemoryState& n = s.machine[id];
      if (--n.assignments == 0) n.cells = {id};
      if (released == 0) continue;
      MemoryTableState& t = n.memory[b.type];
      const uint64_t give = std::min(t.reserved, released);
      t.free += give;
      t.reserved -= give;
      released -= give;
    }
  }
}

}  // namespace kvhost::kubelet
