// The one-screen human summary of `inspect` (numactl -H and lscpu in one).
#pragma once

#include <string>

#include "host_report.pb.h"

namespace kvhost {

std::string FormatHostSummary(const v1::HostReport& report);

// "31.4 GiB" style size from KiB.
std::string HumanKib(uint64_t kib);

}  // namespace kvhost
