// kubelet's view of the CPUs (pkg/kubelet/cm/cpumanager/topology): every CPU
// with its core, socket and NUMA node, and the queries cpu_assignment.go makes
// of it. A core's id is its smallest CPU id, as kubelet's discovery assigns it
// (getUniqueCoreID), so ids are unique across sockets.
#pragma once

#include <map>
#include <vector>

#include "base/cpu_set.h"

namespace kvhost::kubelet {

struct CpuPlace {
  int core = 0;
  int socket = 0;
  int numa = 0;
};

enum class Level { kCore, kSocket, kNuma };

class CpuTopology {
 public:
  CpuTopology() = default;
  explicit CpuTopology(std::map<unsigned, CpuPlace> cpus);

  const std::map<unsigned, CpuPlace>& cpus() const { return cpus_; }
  const CpuSet& all() const { return all_; }
  int num_cpus() const { return static_cast<int>(cpus_.size()); }
  int num_cores() const { return num_cores_; }
  int num_sockets() const { return num_sockets_; }
  int num_numa_nodes() const { return num_numa_; }
  // kubelet divides (CPUsPerCore = NumCPUs / NumCores), so do we.
  int CpusPerCore() const { return num_cores_ ? num_cpus() / num_cores_ : 0; }
  int CpusPerSocket() const { return num_sockets_ ? num_cpus() / num_sockets_ : 0; }

  int IdOf(unsigned cpu, Level level) const;
  // The CPUs whose `level` id is `id` (empty for an unknown id).
  const CpuSet& CpusOf(Level level, int id) const;
  // The CPUs of `within` whose `level` id is one of `ids`.
  CpuSet CpusIn(const CpuSet& within, Level level, const std::vector<int>& ids) const;
  CpuSet CpusIn(const CpuSet& within, Level level, int id) const {
    return CpusIn(within, level, std::vector<int>{id});
  }
  // Distinct `level` ids among `within`, ascending.
  std::vector<int> Ids(const CpuSet& within, Level level) const;

 private:
  std::map<unsigned, CpuPlace> cpus_;
  CpuSet all_;
  // Per level, the CPUs of each id: the queries above are set operations on
  // these (capacity asks them thousands of times per count).
  std::map<int, CpuSet> by_id_[3];
  int num_cores_ = 0, num_sockets_ = 0, num_numa_ = 0;
};

}  // namespace kvhost::kubelet
