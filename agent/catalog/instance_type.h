// An instance type as the allocator needs it: KubeVirt's instancetype spec
// reduced to what decides placement. Pure value, no I/O.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kvhost {

enum class CpuPolicy {
  kShared,     // vCPUs float on the shared pool, bounded by the vCPU:pCPU ratio
  kDedicated,  // every vCPU gets a whole physical core (dedicatedCPUPlacement)
};

struct InstanceType {
  std::string name;    // "cx1.large"
  std::string series;  // "cx1" (the part before the first '.')
  unsigned vcpus = 0;
  uint64_t memory_kib = 0;  // spec.memory.guest
  CpuPolicy cpu = CpuPolicy::kShared;
  bool isolate_emulator_thread = false;  // +1 dedicated CPU for QEMU's emulator thread
  bool guest_numa_passthrough = false;   // guest NUMA cells mirror the host nodes used
  bool realtime = false;                 // needs a realtime-ready host
  uint64_t hugepage_size_kib = 0;        // 0: ordinary memory
  unsigned overcommit_percent = 0;       // memory overcommit (o1: 50)
  unsigned gpus = 0;                     // spec.gpus entries
  std::vector<std::string> gpu_device_names;
  // spec.annotations "irq-load-balancing.crio.io: disable": steer device IRQs off the VM's CPUs.
  bool irq_load_balancing_disabled = false;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string source;  // "built-in" or "<file>:<line>"

  bool Dedicated() const { return cpu == CpuPolicy::kDedicated; }
  // Host memory the guest takes: KubeVirt requests guest * (1 - overcommitPercent/100)
  // for the virt-launcher pod, so o1 (50%) reserves half its guest memory.
  uint64_t ReservedMemoryKib() const {
    return memory_kib * (100 - std::min(overcommit_percent, 100u)) / 100;
  }
};

struct Catalog {
  std::vector<InstanceType> types;  // ordered by series, then size

  const InstanceType* Find(const std::string& name) const;
  // " (did you mean 'cx1.large'?)" for a near miss of a type name, else "".
  std::string DidYouMean(const std::string& name) const;
  // Adds or replaces (by name) every type of `other`.
  void Merge(const Catalog& other);
};

}  // namespace kvhost
