#include "agent/pinning/local_qemu.h"

#include "agent/pinning/qemu_threads.h"
#include "agent/pinning/realtime_threads.h"

namespace kvhost {

LocalTuning TuneLocalQemu(const SysfsRoot& root, const std::string& domain_name,
                          const Placement& placement, const DesiredPinning& want,
                          const InstanceType* type, const CpuSet& housekeeping, bool steer_irqs) {
  LocalTuning out;
  const std::optional<int> pid = QemuPid(root, domain_name);
  if (!pid) {
    out.note = "no local QEMU process: checked through libvirt only";
    return out;
  }
  for (const QemuThread& t : ReadQemuThreads(root, *pid)) {
    const auto vcpu = VcpuIndexOfThread(t.name);
    if (!vcpu || *vcpu >= want.vcpus.size()) continue;
    if (!(t.cpus_allowed == want.vcpus[*vcpu]))
      throw PlacementApplyError("domain '" + domain_name + "': /proc/" + std::to_string(*pid) +
                                "/task/" + std::to_string(t.tid) + " ('" + t.name +
                                "') may run on CPUs " + t.cpus_allowed.ToList() + ", not " +
                                want.vcpus[*vcpu].ToList() + " as libvirt reported");
  }
  out.verified_from_proc = true;
  if (type && type->realtime) out.fifo_threads = SetVcpuThreadsFifo(root, *pid);
  if (steer_irqs && type && type->irq_load_balancing_disabled && placement.dedicated &&
      !housekeeping.Empty())
    out.steered_irqs = SteerIrqsAway(root, placement.DedicatedCpus(), housekeeping).changed;
  return out;
}

}  // namespace kvhost
