#include "agent/pinning/irq_steering.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "base/unique_fd.h"

namespace kvhost {
namespace {

std::string AffinityFile(unsigned irq) {
  return "proc/irq/" + std::to_string(irq) + "/smp_affinity_list";
}

// IRQ 0 is the legacy timer and 2 the PIC cascade: the kernel refuses to move
// them on most machines and they must stay where they are on the rest.
bool NeverMoved(unsigned irq) { return irq == 0 || irq == 2; }

// The kernel's refusals of a well-formed list: EIO for managed and per-CPU
// IRQs (irq_can_set_affinity_usr() is false), EINVAL for a mask it cannot use.
bool RefusedByKernel(int error) { return error == EIO || error == EINVAL; }

}  // namespace

int WriteProcAffinityFile(const std::filesystem::path& file, const std::string& cpulist) {
  // No O_CREAT: a missing file means the IRQ is gone, not a file to make.
  // O_TRUNC as the shell's `echo > file`: procfs ignores it, and a plain file
  // in a replayed tree would otherwise keep the tail of a longer old list.
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd.valid()) return errno;
  // One write() of the whole text: procfs parses each write on its own, so a
  // list split over two writes would be read as two different lists.
  const std::string text = cpulist + "\n";
  ssize_t written;
  do {
    written = ::write(fd.get(), text.data(), text.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) return errno;
  if (static_cast<size_t>(written) != text.size()) return EIO;
  if (fd.Close() != 0) return errno;
  return 0;
}

std::vector<SavedIrqAffinity> ReadIrqAffinities(const SysfsRoot& root) {
  std::vector<SavedIrqAffinity> irqs;
  // ListNumbered drops the non-numeric entries (default_smp_affinity).
  for (unsigned irq : root.ListNumbered("proc/irq", "")) {
    if (auto affinity = root.ReadCpuListOptional(AffinityFile(irq)))
      irqs.push_back({irq, std::move(*affinity)});
  }
  return irqs;
}

std::vector<PlannedIrqMove> PlanIrqSteering(const SysfsRoot& root, const CpuSet& vm_cpus,
                                            const CpuSet& housekeeping_cpus) {
  if (housekeeping_cpus.Empty())
    throw std::invalid_argument("no housekeeping CPUs to steer IRQs to");
  if (housekeeping_cpus.Intersects(vm_cpus))
    throw std::invalid_argument("housekeeping CPUs " + housekeeping_cpus.ToList() +
                                " overlap the VM CPUs " + vm_cpus.ToList());
  std::vector<PlannedIrqMove> plan;
  for (const SavedIrqAffinity& current : ReadIrqAffinities(root)) {
    if (NeverMoved(current.irq) || !current.affinity.Intersects(vm_cpus)) continue;
    CpuSet target = current.affinity - vm_cpus;
    if (target.Empty()) target = housekeeping_cpus;
    plan.push_back({current.irq, current.affinity, target});
  }
  return plan;
}

IrqSteeringResult SteerIrqsAway(const SysfsRoot& root, const CpuSet& vm_cpus,
                                const CpuSet& housekeeping_cpus) {
  return SteerIrqsAway(root, vm_cpus, housekeeping_cpus, WriteProcAffinityFile);
}

IrqSteeringResult SteerIrqsAway(const SysfsRoot& root, const CpuSet& vm_cpus,
                                const CpuSet& housekeeping_cpus, const IrqAffinityWriter& writer) {
  IrqSteeringResult result;
  for (const PlannedIrqMove& move : PlanIrqSteering(root, vm_cpus, housekeeping_cpus)) {
    const std::filesystem::path file = root.PathOf(AffinityFile(move.irq));
    const int error = writer(file, move.new_affinity.ToList());
    if (error == 0) {
      result.changed.push_back({move.irq, move.old_affinity});
    } else if (RefusedByKernel(error) || error == ENOENT) {
      // ENOENT: the device went away after the plan was read; nothing to move.
      result.skipped.push_back(
          {move.irq, move.old_affinity, std::generic_category().message(error)});
    } else {
      try {
        RestoreIrqs(root, result.changed, writer);
      } catch (const std::exception&) {
        // The first failure is the one worth reporting; this one is likely the same.
      }
      throw std::system_error(error, std::generic_category(),
                              file.string() + ": cannot set IRQ " + std::to_string(move.irq) +
                                  " affinity to " + move.new_affinity.ToList());
    }
  }
  return result;
}

std::vector<SkippedIrq> RestoreIrqs(const SysfsRoot& root,
                                    const std::vector<SavedIrqAffinity>& saved) {
  return RestoreIrqs(root, saved, WriteProcAffinityFile);
}

std::vector<SkippedIrq> RestoreIrqs(const SysfsRoot& root,
                                    const std::vector<SavedIrqAffinity>& saved,
                                    const IrqAffinityWriter& writer) {
  std::vector<SkippedIrq> skipped;
  for (const SavedIrqAffinity& irq : saved) {
    const std::filesystem::path file = root.PathOf(AffinityFile(irq.irq));
    const int error = writer(file, irq.affinity.ToList());
    if (error == 0) continue;
    // ENOENT: the device was removed meanwhile; EIO/EINVAL: e.g. a saved CPU went offline.
    if (RefusedByKernel(error) || error == ENOENT) {
      skipped.push_back({irq.irq, irq.affinity, std::generic_category().message(error)});
      continue;
    }
    throw std::system_error(error, std::generic_category(),
                            file.string() + ": cannot restore IRQ " + std::to_string(irq.irq) +
                                " affinity " + irq.affinity.ToList());
  }
  return skipped;
}

}  // namespace kvhost
