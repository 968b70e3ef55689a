// Pure model of the machine's processors: packages, physical cores and their
// SMT siblings, caches. Built once by a reader, then only queried.
#pragma once

#include <string>
#include <vector>

#include "base/cpu_set.h"

namespace kvhost {

struct PhysicalCore {
  unsigned package = 0;  // logical package index
  CpuSet pus;            // online SMT siblings
};

struct CpuTopology {
  unsigned packages = 0;
  std::vector<PhysicalCore> cores;  // ordered by first PU
  CpuSet online;
  CpuSet offline;  // cpuN directories that are not online
  std::vector<CpuSet> l3_groups;
  std::string cpu_model;
  unsigned threads_per_core = 0;
};

}  // namespace kvhost
