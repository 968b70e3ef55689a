// Reads the realtime readiness facts from a root. Missing facts are
// "unknown", never guessed.
#pragma once

#include "base/cpu_set.h"
#include "base/sysfs_root.h"
#include "realtime/readiness.h"

namespace kvhost {

RealtimeReadiness ReadRealtime(const SysfsRoot& root, const CpuSet& isolated);

}  // namespace kvhost
