// The I/O edge of discovery: reads a root into a HostModel.
#pragma once

#include <filesystem>

#include "agent/host/host_model.h"

namespace kvhost {

class SysfsRoot;

// nr_cpu_ids as the kernel counts it, to resolve "N" in command-line cpulists.
unsigned NrCpuIds(const SysfsRoot& root, const CpuTopology& cpu);

// A pool larger than its node's memory (the pages are part of MemTotal) is a
// broken dump; believing it would advertise guests that cannot exist. Throws
// InputError naming the count. Discovery and the daemon's refresh both check.
void RequireHugepagesWithinNodeMemory(const SysfsRoot& root, const NumaTopology& numa,
                                      const HugepageInventory& hugepages);

// Throws InputError naming the file when the root or a file the model
// depends on is missing or malformed.
HostModel DiscoverHost(const std::filesystem::path& root = "/");

}  // namespace kvhost
