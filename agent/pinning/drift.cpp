#include "agent/pinning/drift.h"

#include "agent/libvirt/desired_pinning.h"

namespace kvhost {
namespace {

std::string CpusPhrase(const CpuSet& cpus) {
  return cpus.Empty() ? "no CPU" : "CPUs " + cpus.ToList();
}

bool StrictOn(const DomainPinning* pinning, const CpuSet& nodes) {
  return pinning && pinning->numa && pinning->numa->mode == "strict" &&
         pinning->numa->nodeset == nodes;
}

void CompareCpus(const std::string& what, const CpuSet& want, const CpuSet& have,
                 PinningDrift& drift) {
  if (have == want) return;
  drift.differences.push_back(what + " may run on " + CpusPhrase(have) + ", its allocation says " +
                              CpusPhrase(want));
  drift.cpus_outside |= have - want;
}

}  // namespace

std::string PinningDrift::Describe() const {
  std::string out;
  for (const std::string& d : differences) out += (out.empty() ? "" : "; ") + d;
  return out;
}

PinningDrift DriftFromAllocation(const Placement& allocation, const DomainPinning& live,
                                 const std::optional<DomainPinning>& stored) {
  PinningDrift drift;
  const unsigned vcpus = static_cast<unsigned>(live.vcpus.size());
  DesiredPinning want;
  try {
    want = PinningForPlacement(allocation, "the domain", vcpus);
  } catch (const PlacementApplyError& e) {
    drift.differences.push_back(e.what());
    return drift;
  }
  for (unsigned v = 0; v < vcpus; ++v)
    CompareCpus("vCPU " + std::to_string(v), want.vcpus[v], live.vcpus[v], drift);
  // An emulator libvirt reports no pinning for runs anywhere: all CPUs.
  if (want.emulator) {
    if (live.emulator)
      CompareCpus("the emulator", *want.emulator, *live.emulator, drift);
    else
      drift.differences.push_back("the emulator is not pinned, its allocation says " +
                                  CpusPhrase(*want.emulator));
  }
  if (want.strict_numa_nodes && !StrictOn(&live, *want.strict_numa_nodes) &&
      !StrictOn(stored ? &*stored : nullptr, *want.strict_numa_nodes)) {
    const std::string have =
        live.numa ? live.numa->mode + " on nodes " + live.numa->nodeset.ToList() : "unbound";
    drift.differences.push_back("memory is " + have + ", its allocation says strict on nodes " +
                                want.strict_numa_nodes->ToList());
  }
  return drift;
}

}  // namespace kvhost
