// KubeVirt instancetype YAML (--catalog): any text is a catalog or a CatalogError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/yaml/yaml_catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    kvhost::ParseCatalogYaml(std::string_view(reinterpret_cast<const char*>(data), size),
                             "fuzz.yaml");
  } catch (const kvhost::CatalogError&) {
  }
  return 0;
}
