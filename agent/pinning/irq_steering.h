// Steers movable device interrupts off the CPUs of VMs whose instance type
// disables IRQ load balancing (rt1, n1: "irq-load-balancing.crio.io:
// disable"), so a device interrupt never preempts a realtime or DPDK vCPU.
// The affinities changed are returned so they can be restored when the VM
// goes away. Works on proc/irq under a SysfsRoot ("/" on a live host).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/cpu_set.h"
#include "base/sysfs_root.h"

namespace kvhost {

struct SavedIrqAffinity {
  unsigned irq = 0;
  CpuSet affinity;  // smp_affinity_list before we changed it
};

// An IRQ the kernel would not move: managed IRQs (multi-queue NVMe, virtio,
// NIC queues spread by the kernel itself) and per-CPU IRQs refuse writes with
// EIO; EINVAL when the kernel rejects the new mask. Not an error: these IRQs
// either follow their CPU's own queue or cannot be moved by anyone.
struct SkippedIrq {
  unsigned irq = 0;
  CpuSet affinity;     // left as it was
  std::string reason;  // "Input/output error" ...
};

struct PlannedIrqMove {
  unsigned irq = 0;
  CpuSet old_affinity;
  CpuSet new_affinity;
};

struct IrqSteeringResult {
  std::vector<SavedIrqAffinity> changed;  // give to RestoreIrqs to undo
  std::vector<SkippedIrq> skipped;
};

// Writes `cpulist` to a proc file; returns 0 or the errno of open() or write().
using IrqAffinityWriter =
    std::function<int(const std::filesystem::path& file, const std::string& cpulist)>;

// The real writer: one write() of the whole text to the file opened O_WRONLY.
int WriteProcAffinityFile(const std::filesystem::path& file, const std::string& cpulist);

// Every IRQ of proc/irq with its smp_affinity_list, ordered by number. IRQs
// without the file (or removed while listing) are left out; a malformed file
// is an InputError naming it.
std::vector<SavedIrqAffinity> ReadIrqAffinities(const SysfsRoot& root);

// What SteerIrqsAway would do, without writing: for each IRQ but 0 (timer) and
// 2 (cascade) whose affinity intersects vm_cpus, the affinity minus vm_cpus,
// or housekeeping_cpus when nothing would be left. Throws
// std::invalid_argument when housekeeping_cpus is empty or overlaps vm_cpus.
std::vector<PlannedIrqMove> PlanIrqSteering(const SysfsRoot& root, const CpuSet& vm_cpus,
                                            const CpuSet& housekeeping_cpus);

// Applies PlanIrqSteering by writing proc/irq/N/smp_affinity_list. A write
// refused with EIO or EINVAL is recorded in `skipped`. Any other failure puts
// the IRQs already moved back (best effort) and throws std::system_error
// naming the file, so a failed call leaves nothing the caller cannot see.
// `writer` is how the tests make a write fail the way a managed IRQ does.
IrqSteeringResult SteerIrqsAway(const SysfsRoot& root, const CpuSet& vm_cpus,
                                const CpuSet& housekeeping_cpus);
IrqSteeringResult SteerIrqsAway(const SysfsRoot& root, const CpuSet& vm_cpus,
                                const CpuSet& housekeeping_cpus, const IrqAffinityWriter& writer);

// Writes each saved affinity back. An IRQ whose file is gone (device removed)
// or whose write is refused with EIO/EINVAL (a saved CPU went offline) is
// returned as skipped; any other failure throws std::system_error naming the
// file.
std::vector<SkippedIrq> RestoreIrqs(const SysfsRoot& root,
                                    const std::vector<SavedIrqAffinity>& saved);
std::vector<SkippedIrq> RestoreIrqs(const SysfsRoot& root,
                                    const std::vector<SavedIrqAffinity>& saved,
                                    const IrqAffinityWriter& writer);

}  // namespace kvhost
