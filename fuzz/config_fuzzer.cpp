// config.yaml: any text is a config or a ConfigError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    kvhost::ParseAgentConfigYaml(std::string_view(reinterpret_cast<const char*>(data), size),
                                 "fuzz.yaml");
  } catch (const kvhost::ConfigError&) {
  }
  return 0;
}
