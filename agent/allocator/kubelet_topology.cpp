#include "agent/allocator/kubelet_topology.h"

#include <set>

namespace kvhost::kubelet {

CpuTopology::CpuTopology(std::map<unsigned, CpuPlace> cpus) : cpus_(std::move(cpus)) {
  std::set<int> cores, sockets, numas;
  for (const auto& [cpu, place] : cpus_) {
    all_.Add(cpu);
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

CpuSet CpuTopology::CpusIn(const CpuSet& within, Level level, const std::vector<int>& ids) const {
  CpuSet out;
  within.ForEach([&](unsigned cpu) {
    if (!cpus_.contains(cpu)) return;
    const int id = IdOf(cpu, level);
    for (int want : ids)
      if (want == id) {
        out.Add(cpu);
        return;
      }
  });
  return out;
}

std::vector<int> CpuTopology::Ids(const CpuSet& within, Level level) const {
  std::set<int> ids;
  within.ForEach([&](unsigned cpu) {
    if (cpus_.contains(cpu)) ids.insert(IdOf(cpu, level));
  });
  return {ids.begin(), ids.end()};
}

}  // namespace kvhost::kubelet
