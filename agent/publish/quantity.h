// Kubernetes quantity strings for sizes kept in KiB: the largest binary suffix
// that divides exactly ("2Mi", "64Gi", "1536Ki"), "0" for nothing.
#pragma once

#include <cstdint>
#include <string>

namespace kvhost::publish {

std::string KibQuantity(uint64_t kib);

}  // namespace kvhost::publish
