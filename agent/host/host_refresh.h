// The daemon's periodic refresh: re-reads only the facts that move while the
// host runs, into a model DiscoverHost built. hwloc (the bulk of a discovery)
// is not run again unless the CPUs themselves changed, and nothing fixed at
// boot (command line, pool sizes, kernel flavour) is read again.
#pragma once

#include <string>

#include "agent/host/host_model.h"

namespace kvhost {

enum class HostRefresh {
  kUnchanged,  // every volatile fact reads as before: nothing to recount
  kChanged,    // a hugepage count or the isolated CPUs changed: the model has the new facts
  kHotplug,    // the online CPUs or the NUMA memory changed: rediscover the host (the model is
               // untouched)
};

// Re-reads the online CPUs, the node directories and each node's MemTotal
// (memory hotplug changes no CPU), every hugepage pool's counts and the kernel's
// isolated CPUs (and the realtime facts when those changed). The realtime
// knobs (sched_rt_runtime_us, governors, THP, cgroup RT budget) are an
// admin's settings: read at discovery, so on SIGHUP, not every refresh.
// Throws InputError naming the file, as DiscoverHost does; the model is then
// untouched.
// On kHotplug, `hotplug_why` (when given) says what moved.
HostRefresh RefreshVolatileFacts(HostModel& host, std::string* hotplug_why = nullptr);

}  // namespace kvhost
