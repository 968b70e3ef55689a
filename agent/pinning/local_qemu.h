// What the agent does to a local QEMU process once libvirt has applied a
// placement: proves the pinning from /proc (the kernel's view, not libvirt's
// word), makes realtime vCPU threads SCHED_FIFO, and steers device IRQs off
// the CPUs of types that ask for it (irq-load-balancing.crio.io: disable).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/placement.h"
#include "agent/catalog/instance_type.h"
#include "agent/libvirt/desired_pinning.h"
#include "agent/pinning/irq_steering.h"
#include "base/sysfs_root.h"

namespace kvhost {

struct LocalTuning {
  bool verified_from_proc = false;
  unsigned fifo_threads = 0;
  std::vector<SavedIrqAffinity> steered_irqs;  // to restore when the VM goes
  std::string note;                            // why something was not done
};

// `root` is the host's root ("/"); QEMU's pid comes from
// var/run/libvirt/qemu/<name>.pid. Throws PlacementApplyError when /proc shows
// a vCPU thread elsewhere than libvirt reported.
LocalTuning TuneLocalQemu(const SysfsRoot& root, const std::string& domain_name,
                          const Placement& placement, const DesiredPinning& want,
                          const InstanceType* type, const CpuSet& housekeeping, bool steer_irqs);

}  // namespace kvhost
