#include "agent/allocator/kubelet/kubelet_topology.h"

#include <set>

namespace kvhost::kubelet {

CpuTopology::CpuTopology(std::map<unsigned, CpuPlace> cpus) : cpus_(std::move(cpus)) {
  std::set<int> cores, sockets, numas;
  for (const auto& [cpu, place] : cpus_) {
    all_.Add(cpu);
    by_id_[static_cast<int>(Level::kCore)][place.core].Add(cpu);
    by_id_[static_cast<int>(Level::kSocket)][place.socket].Add(cpu);
    by_id_[static_cast<int>(Level::kNuma)][place.numa].Add(cpu);
    cores.insert(place.core);
    sockets.insert(place.socket);
    numas.insert(place.numa);
  }
  num_cores_ = static_cast<int>(cores.size());
  num_sockets_ = static_cast<int>(sockets.size());
  num_numa_ = static_cast<int>(numas.size());
}

int CpuTopology::IdOf(unsigned cpu, Level level) const {
  const CpuPlace& p = cpus_.at(cpu);
  switch (level) {
    case Level::kCore:
      return p.core;
    case Level::kSocket:
      return p.socket;
    case Level::kNuma:
      return p.numa;
  }
  return -1;
}

const CpuSet& CpuTopology::CpusOf(Level level, int id) const {
  static const CpuSet kNone;
  const auto& sets = by_id_[static_cast<int>(level)];
  const auto it = sets.find(id);
  return it == sets.end() ? kNone : it->second;
}

CpuSet CpuTopology::CpusIn(const CpuSet& within, Level level, const std::vector<int>& ids) const {
  if (ids.size() == 1) return within & CpusOf(level, ids.front());
  CpuSet wanted;
  for (int id : ids) wanted |= CpusOf(level, id);
  return within & wanted;
}

std::vector<int> CpuTopology::Ids(const CpuSet& within, Level level) const {
  std::vector<int> ids;
  for (const auto& [id, cpus] : by_id_[static_cast<int>(level)])
    if (cpus.Intersects(within)) ids.push_back(id);
  return ids;
}

}  // namespace kvhost::kubelet
