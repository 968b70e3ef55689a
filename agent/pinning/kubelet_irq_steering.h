// IRQ steering when kubelet places and the runtime does not steer (containerd,
// see kubelet::AgentSteersIrqs): device interrupts are moved off the CPUs of
// each running VM whose type says "irq-load-balancing.crio.io: disable", as
// CRI-O would for its pod, and given back when the VM is gone. The agent
// never touches the VM's own threads here.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/live/running_domains.h"
#include "agent/pinning/irq_steering.h"
#include "base/sysfs_root.h"

namespace kvhost {

class KubeletIrqSteering {
 public:
  // `housekeeping`: where moved IRQs go when nothing else is left to them
  // (kubelet's shared pool, which holds the reserved CPUs).
  KubeletIrqSteering(SysfsRoot root, CpuSet housekeeping)
      : root_(std::move(root)), housekeeping_(std::move(housekeeping)) {}

  // Steers for each domain of `running` that asks for it and is not steered
  // yet; restores what was steered for domains that no longer run. Returns
  // one line per change, for the log.
  std::vector<std::string> Update(const RunningDomains& running);

  const std::map<std::string, std::vector<SavedIrqAffinity>>& steered() const { return steered_; }

 private:
  SysfsRoot root_;
  CpuSet housekeeping_;
  std::map<std::string, std::vector<SavedIrqAffinity>> steered_;  // by domain UUID
};

}  // namespace kvhost
