// Reads hugepage pools from sysfs (per node and global) and the default size
// from /proc/meminfo.
#pragma once

#include <string>
#include <vector>

#include "base/sysfs_root.h"
#include "hugepages/hugepage_inventory.h"

namespace kvhost {

// Throws InputError naming the file for a count that is missing, malformed or
// negative, and for more free pages than the pool holds.
HugepageInventory ReadHugepages(const SysfsRoot& root, const std::vector<unsigned>& node_ids);

// A refresh: the counts of the pools `known` lists, re-read by the same reader
// with the same checks. Pool sizes and their nodes are fixed while the host
// runs (a size is a boot parameter), so no directory is listed and
// /proc/meminfo, slow to generate, is not read.
HugepageInventory RereadHugepageCounts(const SysfsRoot& root, const HugepageInventory& known);

// Parses the size out of a "hugepages-2048kB" directory name; 0 if it is not one.
uint64_t HugepageDirSizeKib(const std::string& name);

}  // namespace kvhost
