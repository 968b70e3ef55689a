// Kernel cpulists ("0-3,8", "0-15:2/4", "N") and hex masks: every sysfs CPU file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/cpu_set.h"
#include "base/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (unsigned nr_cpus : {0u, 64u}) {
    try {
      const kvhost::CpuSet set = kvhost::ParseCpuList(text, nr_cpus);
      // What we print must read back as the same set.
      if (kvhost::ParseCpuList(set.ToList()) != set) __builtin_trap();
    } catch (const kvhost::FormatError&) {
    }
  }
  try {
    kvhost::ParseCpuMask(text);
  } catch (const kvhost::FormatError&) {
  }
  return 0;
}
