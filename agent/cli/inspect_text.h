// The one-screen human summary of `inspect` (numactl -H and lscpu in one).
#pragma once

#include <string>

#include "host_report.pb.h"

namespace kvhost {

std::string FormatHostSummary(const v1::HostReport& report);

}  // namespace kvhost
