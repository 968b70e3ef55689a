#include "agent/pinning/realtime_threads.h"

#include <sched.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "agent/pinning/qemu_threads.h"

namespace kvhost {

unsigned SetVcpuThreadsFifo(const SysfsRoot& proc_root, int qemu_pid, int priority) {
  const int lowest = sched_get_priority_min(SCHED_FIFO);
  const int highest = sched_get_priority_max(SCHED_FIFO);
  if (priority < lowest || priority > highest)
    throw std::invalid_argument("SCHED_FIFO priority " + std::to_string(priority) + " is outside " +
                                std::to_string(lowest) + ".." + std::to_string(highest));
  unsigned set = 0;
  for (const QemuThread& thread : ReadQemuThreads(proc_root, qemu_pid)) {
    // A realtime guest runs under KVM; an emulated (TCG) vCPU is never made realtime.
    if (!VcpuIndexOfThread(thread.name) || !thread.name.ends_with("/KVM")) continue;
    const sched_param param{.sched_priority = priority};
    // On Linux sched_setscheduler() takes a thread id and changes only that thread.
    if (sched_setscheduler(thread.tid, SCHED_FIFO, &param) != 0) {
      const int error = errno;
      if (error == ESRCH) continue;  // the vCPU thread exited after it was listed
      throw std::system_error(error, std::generic_category(),
                              "set SCHED_FIFO priority " + std::to_string(priority) +
                                  " on thread " + std::to_string(thread.tid) + " '" + thread.name +
                                  "' of QEMU pid " + std::to_string(qemu_pid));
    }
    ++set;
  }
  return set;
}

}  // namespace kvhost
