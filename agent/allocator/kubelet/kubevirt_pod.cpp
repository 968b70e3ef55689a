#include "agent/allocator/kubelet/kubevirt_pod.h"

#include <cmath>
#include <utility>

namespace kvhost::kubevirt {
namespace {

constexpr uint64_t kMi = 1024 * 1024;

// pkg/instancetype/apply/memory.go computes in float32.
uint64_t OvercommittedRequest(const PodShape& type) {
  if (type.overcommit_percent == 0) return 0;
  const float guest = static_cast<float>(type.memory_kib * 1024);
  return static_cast<uint64_t>(guest * (1 - static_cast<float>(type.overcommit_percent) / 100));
}

// WithCPUPinning: vCPUs, plus the emulator thread's CPU (two with AlignCPUs
// when one would leave the total odd).
uint64_t DedicatedCpus(const PodShape& type, const Settings& settings) {
  uint64_t cpus = type.vcpus;
  if (type.isolate_emulator_thread) cpus += (settings.align_cpus && cpus % 2 == 0) ? 2 : 1;
  return cpus;
}

// WithoutDedicatedCPU: vCPUs / cpuAllocationRatio, as a quantity kubelet reads in millicores.
uint64_t SharedCpuMilli(const PodShape& type, const Settings& settings) {
  if (type.vcpus == 0 || settings.cpu_allocation_ratio == 0) return 0;
  const uint64_t milli = uint64_t{type.vcpus} * 1000;
  return (milli + settings.cpu_allocation_ratio - 1) / settings.cpu_allocation_ratio;
}

ContainerResources ConsoleLogContainer(bool guaranteed) {
  ContainerResources c{"guest-console-log", 5, 15, 35'000'000, 60'000'000, 0, 0};
  if (guaranteed) {
    c.cpu_request_milli = c.cpu_limit_milli;
    c.memory_request = c.memory_limit;
  }
  return c;
}

}  // namespace

PodShape ShapeOf(const InstanceType& type, const Settings& settings) {
  return {type.vcpus,
          type.memory_kib,
          type.Dedicated(),
          type.isolate_emulator_thread,
          type.hugepage_size_kib,
          type.overcommit_percent,
          type.gpus,
          settings};
}

uint64_t MemoryOverhead(const PodShape& type, uint64_t vmi_memory_request) {
  const Settings& settings = type.settings;
  // Page tables: the request scaled up to kilo, one byte per 512 (integer division).
  const uint64_t pagetables = (vmi_memory_request + 999) / 1000 * 1000 / 512;
  uint64_t overhead = pagetables;
  overhead += (25 + 100 + 25 + 40 + 50) * kMi;  // virt-launcher-monitor, virt-launcher, virtlogd,
                                                // virtqemud, qemu
  overhead += 8 * kMi * std::max(1u, type.vcpus);          // CPU tables
  overhead += 8 * kMi;                                     // the IOThread
  if (settings.autoattach_graphics) overhead += 32 * kMi;  // video RAM
  if (settings.arm64) overhead += 128 * kMi;               // UEFI pflash
  if (type.gpus > 0) overhead += 1024 * kMi;               // VFIO locks guest RAM + MMIO
  if (type.Dedicated()) overhead += 100 * kMi;             // IsCPUDedicated
  return overhead;
}

PodResources PodFor(const PodShape& type) {
  const Settings& settings = type.settings;
  PodResources pod;
  const uint64_t vmi_request = OvercommittedRequest(type);
  const uint64_t guest = type.memory_kib * 1024;
  pod.memory_overhead = MemoryOverhead(type, vmi_request);
  // WithMemoryRequests: the VMI's request, else guest * 100 / memoryOvercommit.
  uint64_t memory = vmi_request;
  if (memory == 0)
    memory = settings.memory_overcommit == 100 ? guest : guest * 100 / settings.memory_overcommit;

  ContainerResources compute{"compute", 0, 0, 0, 0, 0, 0};
  const bool dedicated = type.Dedicated();
  if (dedicated) {
    compute.cpu_request_milli = compute.cpu_limit_milli = DedicatedCpus(type, settings) * 1000;
    pod.exclusive_cpus = static_cast<unsigned>(DedicatedCpus(type, settings));
    pod.qos = QosClass::kGuaranteed;
  } else {
    compute.cpu_request_milli = SharedCpuMilli(type, settings);
  }
  if (type.hugepage_size_kib > 0) {
    // WithHugePages: the pages hold the guest (never more), memory holds the overhead.
    compute.hugepage_kib = type.hugepage_size_kib;
    compute.hugepage_bytes = std::min(memory, guest);
    compute.memory_request = (memory > guest ? memory - guest : 0) + pod.memory_overhead;
    if (dedicated) compute.memory_limit = compute.memory_request;
  } else {
    compute.memory_request = memory + pod.memory_overhead;
    if (dedicated) compute.memory_limit = compute.memory_request;  // WithCPUPinning, then overhead
  }
  pod.containers.push_back(std::move(compute));
  if (settings.serial_console_log) pod.containers.push_back(ConsoleLogContainer(dedicated));
  return pod;
}

}  // namespace kvhost::kubevirt
