// Kubernetes quantities ("4Gi", "1.5e3M") as the catalog and config read them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/catalog/quantity.h"
#include "base/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    kvhost::BytesToKibRoundUp(
        kvhost::ParseQuantityBytes(std::string_view(reinterpret_cast<const char*>(data), size)));
  } catch (const kvhost::FormatError&) {
  }
  return 0;
}
