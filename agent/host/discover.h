// The I/O edge of discovery: reads a root into a HostModel.
#pragma once

#include <filesystem>

#include "agent/host/host_model.h"

namespace kvhost {

// Throws InputError naming the file when the root or a file the model
// depends on is missing or malformed.
HostModel DiscoverHost(const std::filesystem::path& root = "/");

}  // namespace kvhost
