// The I/O edge of discovery: reads a root into a HostModel.
#pragma once

#include <filesystem>

#include "agent/host/host_model.h"

namespace kvhost {

class SysfsRoot;

// nr_cpu_ids as the kernel counts it, to resolve "N" in command-line cpulists.
unsigned NrCpuIds(const SysfsRoot& root, const CpuTopology& cpu);

// Throws InputError naming the file when the root or a file the model
// depends on is missing or malformed.
HostModel DiscoverHost(const std::filesystem::path& root = "/");

}  // namespace kvhost
