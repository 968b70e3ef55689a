// kubelet's files under --root: the CPU manager and memory manager checkpoints
// (JSON, kubelet's checksum, the content checks) and the KubeletConfiguration
// YAML. The input's first byte picks the file, the rest is its text. A zero
// checksum is accepted as kubelet does, so mutations reach past the checksum;
// any other value makes the go-spew printing run to compare.
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string_view>

#include "agent/kubelet/cpu_manager_state.h"
#include "agent/kubelet/kubelet_config.h"
#include "agent/kubelet/memory_manager_state.h"
#include "agent/yaml/yaml_error.h"
#include "base/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The host the checks compare against: 2 NUMA nodes, 32 CPUs.
  static const kvhost::CpuSet kHostCpus = kvhost::CpuSet::Range(0, 31);
  static const std::set<int> kHostNodes = {0, 1};
  try {
    switch (data[0] % 3) {
      case 0:
        kvhost::kubelet::ParseCpuManagerState(text, (data[0] & 4) ? &kHostCpus : nullptr);
        break;
      case 1:
        kvhost::kubelet::ParseMemoryManagerState(text, (data[0] & 4) ? &kHostNodes : nullptr);
        break;
      default:
        kvhost::kubelet::ParseKubeletConfig(text, "config.yaml");
        break;
    }
  } catch (const kvhost::FormatError&) {
  } catch (const kvhost::YamlInputError&) {
  }
  return 0;
}
