// Prometheus text exposition (format 0.0.4) of one NodeReport. Pure. Names
// follow Prometheus' naming guide: prefix kvhost_, base units (bytes, seconds),
// _total only on counters, NUMA nodes as the `numa_node` label.
#pragma once

#include <string>

#include "publish.pb.h"

namespace kvhost::publish {

std::string FormatMetrics(const v1::NodeReport& report);

// The content type Prometheus expects for that text.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace kvhost::publish
