// Which CPUs a qualification measures, the way OpenShift's cnf-tests oslat
// runner chooses: oslat's main thread on the first allowed CPU, measured CPUs
// = the others minus that CPU's SMT siblings (noisy neighbour). Pure.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "base/cpu_set.h"
#include "cpu/cpu_topology.h"

namespace kvhost::qualify {

// The CPUs cannot be measured; what() says which rule and the CPUs.
class CpuChoiceRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CpuRequest {
  std::optional<CpuSet> list;  // nullopt: auto (isolated CPUs no VM holds)
  bool allow_non_isolated = false;
};

struct CpuChoice {
  unsigned main_thread_cpu = 0;
  CpuSet measured;
  // One CPU only: oslat's main thread sleeps on the measured CPU. It wakes
  // rarely, but it can add latency, so such a run at best warns.
  bool main_thread_shares_cpu = false;
  bool qualifying = true;  // every CPU used is isolated
  CpuSet all() const {
    CpuSet cpus = measured;
    cpus.Add(main_thread_cpu);
    return cpus;
  }
};

// `held`: CPUs a VM holds now (the live allocator). Throws CpuChoiceRefused.
CpuChoice ChooseCpus(const CpuTopology& topology, const CpuSet& isolated, const CpuSet& held,
                     const CpuRequest& request);

}  // namespace kvhost::qualify
