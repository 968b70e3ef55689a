#include "numa/numa_topology.h"

namespace kvhost {

const NumaNode* NumaTopology::Find(unsigned id) const {
  for (const auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

std::optional<unsigned> NumaTopology::NodeOf(unsigned cpu) const {
  for (const auto& n : nodes)
    if (n.cpus.Contains(cpu)) return n.id;
  return std::nullopt;
}

unsigned NumaTopology::Distance(unsigned from, unsigned to) const {
  if (from == to) return 10;
  const NumaNode* a = Find(from);
  if (!a) return 20;
  // The SLIT row is ordered by node id, the same order as `nodes`.
  for (size_t i = 0; i < nodes.size() && i < a->distances.size(); ++i)
    if (nodes[i].id == to) return a->distances[i];
  return 20;
}

}  // namespace kvhost
