// Realtime vCPU threads: rt1 guests run their vCPU threads SCHED_FIFO, as
// KubeVirt does for realtime VMs (<vcpusched scheduler='fifo' priority='1'/>),
// so a vCPU is never preempted by ordinary host work on its isolated CPU.
// This applies it to a running QEMU, found through procfs.
#pragma once

#include "base/sysfs_root.h"

namespace kvhost {

// KubeVirt's priority for realtime vCPUs: the lowest SCHED_FIFO priority, above
// every SCHED_OTHER task but below the kernel's own FIFO threads (threaded
// IRQs run at 50), so a spinning guest cannot starve interrupt handling.
constexpr int kDefaultVcpuFifoPriority = 1;

// Sets every "CPU <n>/KVM" thread of qemu_pid to SCHED_FIFO at `priority`
// (sched_setscheduler on the thread id); other QEMU threads are left alone.
// proc_root is the root proc/ is read under ("/" on a live host). Returns how
// many vCPU threads were set, so a caller can tell a QEMU without KVM vCPU
// threads (TCG) from a realtime one. A thread that exits meanwhile is skipped.
// Throws std::invalid_argument for a priority outside SCHED_FIFO's range, and
// std::system_error naming the thread, its name and the pid when the kernel
// refuses (EPERM without CAP_SYS_NICE or with RT throttling in the cgroup).
unsigned SetVcpuThreadsFifo(const SysfsRoot& proc_root, int qemu_pid,
                            int priority = kDefaultVcpuFifoPriority);

}  // namespace kvhost
