// Keeps the agent's own threads on housekeeping CPUs: never on isolated CPUs
// and never on CPUs given to a VM. Threads inherit the affinity of the thread
// that creates them, so this runs before the agent starts any thread.
#pragma once

#include "base/cpu_set.h"

namespace kvhost {

// Binds the calling thread (and so every thread it starts later) to `cpus`
// with libnuma. Throws std::runtime_error naming the CPUs when the kernel refuses.
void BindSelfToCpus(const CpuSet& cpus);

// The CPUs the calling thread may run on now.
CpuSet SelfAffinity();

}  // namespace kvhost
