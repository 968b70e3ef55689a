#include "agent/daemon/self_affinity.h"

#include <numa.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace kvhost {
namespace {

struct BitmaskFree {
  void operator()(bitmask* b) const { numa_bitmask_free(b); }
};
using Bitmask = std::unique_ptr<bitmask, BitmaskFree>;

}  // namespace

void BindSelfToCpus(const CpuSet& cpus) {
  if (cpus.Empty()) throw std::runtime_error("refusing to bind the agent to no CPUs");
  Bitmask mask(numa_allocate_cpumask());
  cpus.ForEach([&](unsigned cpu) {
    if (cpu < mask->size) numa_bitmask_setbit(mask.get(), cpu);
  });
  if (numa_sched_setaffinity(0, mask.get()) != 0)
    throw std::runtime_error("cannot bind the agent to CPUs " + cpus.ToList() + ": " +
                             std::strerror(errno));
}

CpuSet SelfAffinity() {
  Bitmask mask(numa_allocate_cpumask());
  CpuSet out;
  if (numa_sched_getaffinity(0, mask.get()) < 0) return out;
  for (unsigned cpu = 0; cpu < mask->size; ++cpu)
    if (numa_bitmask_isbitset(mask.get(), cpu)) out.Add(cpu);
  return out;
}

}  // namespace kvhost
