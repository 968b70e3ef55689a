// /proc/cmdline: the word splitter and the isolation arguments read from it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/errors.h"
#include "cpu/isolation.h"
#include "cpu/kernel_cmdline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto cmdline = kvhost::KernelCmdline::Parse(text);
  cmdline.AllOf({"hugepagesz", "hugepages", "default_hugepagesz"});
  for (const char* key : {"isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity"}) {
    const auto value = cmdline.Last(key);
    if (!value) continue;
    std::vector<std::string> warnings;
    try {
      if (std::string(key) == "isolcpus")
        kvhost::ParseIsolcpus(*value, 256, warnings);
      else
        kvhost::ParseCpuList(*value, 256);
    } catch (const kvhost::FormatError&) {
    }
  }
  return 0;
}
