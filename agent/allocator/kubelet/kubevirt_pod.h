// The virt-launcher pod KubeVirt creates for an instance type: what kubelet's
// CPU, memory and topology managers are asked for. Ported from kubevirt/kubevirt
// at d923fdb815cd2016ddaebdaaa51db04133576d72:
//   pkg/hypervisor/kvm/hypervisorbackend.go  KvmHypervisorBackend.GetMemoryOverhead
//   pkg/virt-controller/services/renderresources.go  WithMemoryRequests,
//     WithCPUPinning (isolateEmulatorThread, AlignCPUs' even parity),
//     WithoutDedicatedCPU (cpuAllocationRatio), WithHugePages, WithMemoryOverhead
//   pkg/virt-controller/services/serialconsolelog.go  the guest-console-log container
//   pkg/instancetype/apply/memory.go  overcommitPercent
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/catalog/instance_type.h"
#include "base/inline_vector.h"

namespace kvhost::kubevirt {

// The cluster's KubeVirt settings that change the pod.
struct Settings {
  unsigned cpu_allocation_ratio =
      10;                            // spec.configuration.developerConfiguration.cpuAllocationRatio
  unsigned memory_overcommit = 100;  // ...developerConfiguration.memoryOvercommit (percent)
  // The AlignCPUs feature gate with the kubevirt.io/thread-emulator-complete-to-even-parity
  // annotation on the KubeVirt CR: the emulator takes 2 CPUs when 1 would leave an odd total.
  bool align_cpus = false;
  bool autoattach_graphics = true;  // spec.domain.devices.autoattachGraphicsDevice (nil = true)
  bool serial_console_log = true;   // the guest-console-log container (default on)
  bool arm64 = false;
  bool operator==(const Settings&) const = default;
};

enum class QosClass { kGuaranteed, kBurstable };

struct ContainerResources {
  std::string_view name;                                // a literal: "compute", "guest-console-log"
  uint64_t cpu_request_milli = 0, cpu_limit_milli = 0;  // 0: not set
  uint64_t memory_request = 0, memory_limit = 0;        // bytes; 0: not set
  // One page size, as a VMI has (spec.domain.memory.hugepages.pageSize);
  // request = limit. Plain fields: capacity builds a pod per type per count.
  uint64_t hugepage_kib = 0, hugepage_bytes = 0;
};

struct PodResources {
  InlineVector<ContainerResources, 2> containers;  // "compute" first; KubeVirt adds at most 2
  QosClass qos = QosClass::kBurstable;
  uint64_t memory_overhead = 0;  // bytes, GetMemoryOverhead's result
  // CPUs kubelet's static policy gives the compute container exclusively (0 for shared).
  unsigned exclusive_cpus = 0;
};

// Every input the pod is computed from: an instance type's resource fields
// and the cluster's settings. PodFor reads nothing else, so equal shapes give
// equal pods, and capacity keeps one pod per shape (kubelet_host.h).
struct PodShape {
  unsigned vcpus = 0;
  uint64_t memory_kib = 0;
  bool dedicated = false;
  bool isolate_emulator_thread = false;
  uint64_t hugepage_size_kib = 0;
  unsigned overcommit_percent = 0;
  unsigned gpus = 0;
  Settings settings;
  bool Dedicated() const { return dedicated; }
  bool operator==(const PodShape&) const = default;
};
PodShape ShapeOf(const InstanceType& type, const Settings& settings);

// GetMemoryOverhead for an instance-type VMI. `vmi_memory_request` is the VMI's
// spec.domain.resources.requests.memory, which instance types set only with
// overcommitPercent (else 0: KubeVirt's page-table term then counts nothing).
uint64_t MemoryOverhead(const PodShape& type, uint64_t vmi_memory_request);

PodResources PodFor(const PodShape& shape);
inline PodResources PodFor(const InstanceType& type, const Settings& settings = {}) {
  return PodFor(ShapeOf(type, settings));
}

}  // namespace kvhost::kubevirt
