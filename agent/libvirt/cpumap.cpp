#include "agent/libvirt/cpumap.h"

#include <stdexcept>
#include <string>

namespace kvhost {

size_t CpumapLength(unsigned host_cpu_count) { return (host_cpu_count + 7) / 8; }

std::vector<unsigned char> CpuSetToCpumap(const CpuSet& cpus, unsigned host_cpu_count) {
  std::vector<unsigned char> map(CpumapLength(host_cpu_count), 0);
  cpus.ForEach([&](unsigned cpu) {
    if (cpu >= host_cpu_count) {
      throw std::out_of_range("CPU " + std::to_string(cpu) + " is not one of the host's " +
                              std::to_string(host_cpu_count) + " CPUs");
    }
    map[cpu / 8] |= static_cast<unsigned char>(1u << (cpu % 8));
  });
  return map;
}

CpuSet CpumapToCpuSet(const unsigned char* map, size_t length) {
  CpuSet cpus;
  for (size_t byte = 0; byte < length; ++byte) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      if (map[byte] & (1u << bit)) cpus.Add(static_cast<unsigned>(byte * 8 + bit));
    }
  }
  return cpus;
}

}  // namespace kvhost
