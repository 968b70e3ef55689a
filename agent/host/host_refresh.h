// The daemon's periodic refresh: re-reads only the facts that move while the
// host runs, into a model DiscoverHost built. hwloc (the bulk of a discovery)
// is not run again unless the CPUs themselves changed.
#pragma once

#include "agent/host/host_model.h"

namespace kvhost {

enum class HostRefresh {
  kRefreshed,  // hugepage pools, isolation and realtime facts re-read into the model
  kHotplug,    // the online CPU list changed: rediscover the host
};

// Throws InputError naming the file, as DiscoverHost does.
HostRefresh RefreshVolatileFacts(HostModel& host);

}  // namespace kvhost
