// libvirt's CPU maps: byte i, bit j stands for host CPU 8*i + j.
#pragma once

#include <cstddef>
#include <vector>

#include "base/cpu_set.h"

namespace kvhost {

// Bytes needed for host_cpu_count CPUs (libvirt's VIR_CPU_MAPLEN).
size_t CpumapLength(unsigned host_cpu_count);

// The map for cpus, sized for host_cpu_count CPUs. Throws std::out_of_range
// when a CPU is not below host_cpu_count: libvirt silently ignores bits past
// the map it reads, so such a pin would quietly mean something else.
std::vector<unsigned char> CpuSetToCpumap(const CpuSet& cpus, unsigned host_cpu_count);

CpuSet CpumapToCpuSet(const unsigned char* map, size_t length);

}  // namespace kvhost
