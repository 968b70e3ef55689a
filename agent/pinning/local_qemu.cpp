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
  const std::string proc = "/proc/" + std::to_string(*pid);
  size_t vcpu_threads = 0;
  for (const QemuThread& t : ReadQemuThreads(root, *pid)) {
    const auto vcpu = VcpuIndexOfThread(t.name);
    if (!vcpu) continue;
    ++vcpu_threads;
    if (*vcpu >= want.vcpus.size()) continue;
    if (!(t.cpus_allowed == want.vcpus[*vcpu]))
      throw PlacementApplyError("domain '" + domain_name + "': /proc/" + std::to_string(*pid) +
                                "/task/" + std::to_string(t.tid) + " ('" + t.name +
                                "') may run on CPUs " + t.cpus_allowed.ToList() + ", not " +
                                want.vcpus[*vcpu].ToList() + " as libvirt reported");
  }
  // Every vCPU checked, or the check did not happen: a thread count that is not
  // the domain's vCPU count means some vCPU's thread went unseen.
  if (vcpu_threads != want.vcpus.size())
    throw PlacementApplyError(
        "domain '" + domain_name + "': " + proc + " shows " + std::to_string(vcpu_threads) +
        " vCPU threads ('CPU n/KVM' or 'CPU n/TCG'), the domain has " +
        std::to_string(want.vcpus.size()) + " vCPUs: its pinning is not verified from /proc");
  out.verified_from_proc = true;
  if (type && type->realtime) out.fifo_threads = SetVcpuThreadsFifo(root, *pid);
  if (steer_irqs && type && type->irq_load_balancing_disabled && placement.dedicated &&
      !housekeeping.Empty())
    out.steered_irqs = SteerIrqsAway(root, placement.DedicatedCpus(), housekeeping).changed;
  return out;
}

}  // namespace kvhost
