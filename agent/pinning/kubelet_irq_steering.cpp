#include "agent/pinning/kubelet_irq_steering.h"

#include <set>

namespace kvhost {
namespace {

CpuSet CpusOf(const DomainPinning& pinning) {
  CpuSet cpus;
  for (const auto& v : pinning.vcpus) cpus |= v;
  if (pinning.emulator) cpus |= *pinning.emulator;
  return cpus;
}

bool AsksForSteering(const LiveDomain& d) {
  return d.type && d.type->irq_load_balancing_disabled && d.type->Dedicated();
}

}  // namespace

std::vector<std::string> KubeletIrqSteering::Update(const RunningDomains& running) {
  std::vector<std::string> log;
  std::set<std::string> alive;
  for (const LiveDomain& d : running.domains) {
    alive.insert(d.uuid);
    if (!AsksForSteering(d) || steered_.count(d.uuid)) continue;
    const CpuSet cpus = CpusOf(d.pinning);
    IrqSteeringResult result = SteerIrqsAway(root_, cpus, housekeeping_ - cpus);
    log.push_back("domain '" + d.name + "': " + std::to_string(result.changed.size()) +
                  " device IRQ(s) steered off CPUs " + cpus.ToList() + " (" +
                  std::to_string(result.skipped.size()) + " not movable)");
    steered_[d.uuid] = std::move(result.changed);
  }
  for (auto it = steered_.begin(); it != steered_.end();) {
    if (alive.count(it->first)) {
      ++it;
      continue;
    }
    const auto skipped = RestoreIrqs(root_, it->second);
    log.push_back("domain " + it->first +
                  " is gone: " + std::to_string(it->second.size() - skipped.size()) +
                  " IRQ affinit(ies) given back");
    it = steered_.erase(it);
  }
  return log;
}

}  // namespace kvhost
