#include "agent/libvirt/placement_applier.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <stdexcept>

#include "agent/libvirt/affect_flags.h"
#include "agent/libvirt/cpumap.h"
#include "agent/libvirt/handles.h"
#include "agent/libvirt/libvirt_error.h"
#include "base/crash_point.h"

namespace kvhost {

namespace {

std::vector<unsigned char> MapFor(const CpuSet& cpus, unsigned host_cpus, const std::string& what) {
  try {
    return CpuSetToCpumap(cpus, host_cpus);
  } catch (const std::out_of_range& e) {
    throw PlacementApplyError("cannot " + what + ": " + e.what());
  }
}

void PinVcpus(const LibvirtDomain& domain, const DesiredPinning& desired, unsigned host_cpus,
              unsigned flags) {
  for (size_t vcpu = 0; vcpu < desired.vcpus.size(); ++vcpu) {
    std::string what = "pin vCPU " + std::to_string(vcpu) + " of " + domain.Describe() +
                       " to CPUs " + desired.vcpus[vcpu].ToList() + " (" +
                       DescribeAffectFlags(flags) + ")";
    std::vector<unsigned char> map = MapFor(desired.vcpus[vcpu], host_cpus, what);
    if (virDomainPinVcpuFlags(domain.raw(), static_cast<unsigned>(vcpu), map.data(),
                              static_cast<int>(map.size()), flags) < 0) {
      ThrowLastLibvirtError(what);
    }
    if (vcpu + 1 < desired.vcpus.size()) CrashPoint("between-vcpus");
  }
}

void PinEmulator(const LibvirtDomain& domain, const CpuSet& cpus, unsigned host_cpus,
                 unsigned flags) {
  std::string what = "pin the emulator of " + domain.Describe() + " to CPUs " + cpus.ToList() +
                     " (" + DescribeAffectFlags(flags) + ")";
  std::vector<unsigned char> map = MapFor(cpus, host_cpus, what);
  if (virDomainPinEmulator(domain.raw(), map.data(), static_cast<int>(map.size()), flags) < 0) {
    ThrowLastLibvirtError(what);
  }
}

// Returns false, with libvirt's reason, when libvirt refused; throws on a local failure.
bool TrySetStrictNuma(const LibvirtDomain& domain, const CpuSet& nodes, unsigned flags,
                      LastLibvirtError& refusal) {
  TypedParamsBuilder params;
  if (!params.AddInt(VIR_DOMAIN_NUMA_MODE, VIR_DOMAIN_NUMATUNE_MEM_STRICT) ||
      !params.AddString(VIR_DOMAIN_NUMA_NODESET, nodes.ToList())) {
    ThrowLastLibvirtError("build numatune parameters for " + domain.Describe());
  }
  if (virDomainSetNumaParameters(domain.raw(), params.data(), params.size(), flags) == 0)
    return true;
  refusal = TakeLastLibvirtError();
  return false;
}

// Sets the numatune; returns the flags it ended up written with.
unsigned ApplyNuma(const LibvirtDomain& domain, const CpuSet& nodes, const AffectFlags& flags,
                   ApplyReport& report) {
  std::string what =
      "bind the memory of " + domain.Describe() + " strictly to NUMA nodes " + nodes.ToList();
  LastLibvirtError refusal;
  if (TrySetStrictNuma(domain, nodes, flags.numa, refusal)) {
    report.numa = NumaOutcome::kApplied;
    return flags.numa;
  }
  // A domain vanishing between calls is not a "next start" situation.
  if (!flags.numa_next_start || refusal.code == VIR_ERR_NO_DOMAIN) {
    throw LibvirtError(what + " (" + DescribeAffectFlags(flags.numa) + ")", refusal.message,
                       refusal.code);
  }
  LastLibvirtError config_refusal;
  if (!TrySetStrictNuma(domain, nodes, *flags.numa_next_start, config_refusal)) {
    throw LibvirtError(what + " (" + DescribeAffectFlags(*flags.numa_next_start) +
                           ", after the live change was refused: " + refusal.message + ")",
                       config_refusal.message, config_refusal.code);
  }
  report.numa = NumaOutcome::kAppliesAtNextStart;
  report.numa_deferred_reason = refusal.message;
  return *flags.numa_next_start;
}

void VerifyCpus(const LibvirtDomain& domain, const DesiredPinning& desired,
                const DomainPinning& actual, unsigned flags) {
  std::string where = domain.Describe() + " (" + DescribeAffectFlags(flags) + ")";
  if (actual.vcpus.size() != desired.vcpus.size()) {
    throw PlacementApplyError("read-back of " + where + " shows " +
                              std::to_string(actual.vcpus.size()) + " vCPUs, applied " +
                              std::to_string(desired.vcpus.size()));
  }
  for (size_t vcpu = 0; vcpu < desired.vcpus.size(); ++vcpu) {
    if (!(actual.vcpus[vcpu] == desired.vcpus[vcpu])) {
      throw PlacementApplyError("read-back of " + where + ": vCPU " + std::to_string(vcpu) +
                                " is on CPUs " + actual.vcpus[vcpu].ToList() + ", applied " +
                                desired.vcpus[vcpu].ToList());
    }
  }
  if (desired.emulator && !(actual.emulator && *actual.emulator == *desired.emulator)) {
    throw PlacementApplyError(
        "read-back of " + where + ": emulator is on CPUs " +
        (actual.emulator ? actual.emulator->ToList() : std::string("(unpinned)")) + ", applied " +
        desired.emulator->ToList());
  }
}

// IOThreads do the guest's disk I/O emulation: like the emulator thread they
// must stay off the vCPUs' cores, so they go where the emulator goes.
void PinIoThreads(const LibvirtDomain& domain, const CpuSet& cpus, unsigned host_cpus,
                  unsigned flags, ApplyReport& report) {
  virDomainIOThreadInfoPtr* info = nullptr;
  // Listing takes one definition (live for a running domain); pinning takes `flags`.
  const int n = virDomainGetIOThreadInfo(domain.raw(), &info, VIR_DOMAIN_AFFECT_CURRENT);
  if (n < 0) {
    // Drivers without IOThread support have none to pin.
    virErrorPtr err = virGetLastError();
    if (err && (err->code == VIR_ERR_NO_SUPPORT || err->code == VIR_ERR_OPERATION_UNSUPPORTED))
      return;
    ThrowLastLibvirtError("list IOThreads of " + domain.Describe());
  }
  std::vector<unsigned> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(info[i]->iothread_id);
    virDomainIOThreadInfoFree(info[i]);
  }
  free(info);  // allocated by libvirt with malloc
  for (unsigned id : ids) {
    const std::string what = "pin IOThread " + std::to_string(id) + " of " + domain.Describe() +
                             " to CPUs " + cpus.ToList() + " (" + DescribeAffectFlags(flags) + ")";
    std::vector<unsigned char> map = MapFor(cpus, host_cpus, what);
    if (virDomainPinIOThread(domain.raw(), id, map.data(), static_cast<int>(map.size()), flags) < 0)
      ThrowLastLibvirtError(what);
  }
  report.iothreads_pinned = static_cast<unsigned>(ids.size());
}

void VerifyNuma(const LibvirtDomain& domain, const CpuSet& nodes, const DomainPinning& actual,
                unsigned flags) {
  if (actual.numa && actual.numa->mode == "strict" && actual.numa->nodeset == nodes) return;
  throw PlacementApplyError("read-back of " + domain.Describe() + " (" +
                            DescribeAffectFlags(flags) + "): memory is bound " +
                            (actual.numa
                                 ? actual.numa->mode + " to nodes " + actual.numa->nodeset.ToList()
                                 : std::string("nowhere")) +
                            ", applied strict to nodes " + nodes.ToList());
}

ApplyReport Apply(const LibvirtConnection& connection, const LibvirtDomain& domain,
                  const DesiredPinning& desired) {
  ApplyReport report;
  report.domain = domain.name();
  AffectFlags flags =
      ChooseAffectFlags(connection.driver(), {domain.IsActive(), domain.IsPersistent()});
  report.pin_flags = flags.pin;
  unsigned host_cpus = connection.HostCpuCount();

  PinVcpus(domain, desired, host_cpus, flags.pin);
  if (desired.emulator) {
    PinEmulator(domain, *desired.emulator, host_cpus, flags.pin);
    PinIoThreads(domain, *desired.emulator, host_cpus, flags.pin, report);
  }
  std::optional<unsigned> numa_flags;
  if (desired.strict_numa_nodes)
    numa_flags = ApplyNuma(domain, *desired.strict_numa_nodes, flags, report);

  for (size_t i = 0; i < flags.verify.size(); ++i) {
    DomainPinning actual = ReadPinning(connection, domain, flags.verify[i]);
    VerifyCpus(domain, desired, actual, flags.verify[i]);
    if (numa_flags && report.numa == NumaOutcome::kApplied) {
      VerifyNuma(domain, *desired.strict_numa_nodes, actual, flags.verify[i]);
    }
    if (i == 0) report.read_back = std::move(actual);
  }
  if (report.numa == NumaOutcome::kAppliesAtNextStart) {
    // Only the config took it: that is the definition to check.
    DomainPinning config = ReadPinning(connection, domain, *numa_flags);
    VerifyNuma(domain, *desired.strict_numa_nodes, config, *numa_flags);
  }
  return report;
}

}  // namespace

ApplyReport ApplyPlacement(const LibvirtConnection& connection, const LibvirtDomain& domain,
                           const Placement& placement) {
  return Apply(connection, domain,
               PinningForPlacement(placement, domain.Describe(), domain.MaxVcpus()));
}

ApplyReport UnpinDomain(const LibvirtConnection& connection, const LibvirtDomain& domain,
                        const CpuSet& online_cpus) {
  return Apply(connection, domain, PinningForUnpin(online_cpus, domain.MaxVcpus()));
}

std::string NumaOutcomeName(NumaOutcome outcome) {
  switch (outcome) {
    case NumaOutcome::kNotRequested:
      return "not requested";
    case NumaOutcome::kApplied:
      return "applied";
    case NumaOutcome::kAppliesAtNextStart:
      return "applies at next start";
  }
  return "unknown";
}

}  // namespace kvhost
