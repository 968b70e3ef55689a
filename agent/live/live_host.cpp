#include "agent/live/live_host.h"

#include <ctime>

#include "agent/host/discover.h"
#include "agent/kubelet/cpu_manager_state.h"
#include "agent/qualify/history.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_store.h"
#include "base/errors.h"

namespace kvhost {
namespace {

// Agent mode: what the agent placed, as its state file says. The file is only
// ever replaced whole, so reading it without the daemon's lock is safe. A
// damaged file leaves what runs unknown: that is an error, not an empty host.
void CommitSavedAllocations(const std::filesystem::path& state_dir, LiveHost& live) {
  const StateStore store(state_dir);
  const LoadedState loaded = store.Read();
  if (loaded.status == StateLoadStatus::kCorrupt)
    throw InputError(store.file(), "cannot tell what runs: " + loaded.problem);
  for (const auto& allocation : loaded.state.allocations()) {
    try {
      live.allocator.CommitRunning(PlacementFromAllocation(allocation));
    } catch (const std::exception& e) {
      throw InputError(store.file(), "allocation of '" + allocation.vm() +
                                         "' does not fit the host: " + e.what());
    }
  }
}

// A qualification running now holds its CPUs like a VM, so nothing is placed
// (or advertised) there meanwhile. CPUs a VM took since are left to the VM.
void CommitQualificationHold(const std::filesystem::path& state_dir, LiveHost& live) {
  const auto cpus = qualify::ReadLiveHold(state_dir);
  if (!cpus) return;
  Placement hold;
  hold.vm = "qualification";
  hold.instance_type = "oslat";
  hold.dedicated = true;
  (*cpus & live.allocator.FreeDedicatedCpus()).ForEach([&](unsigned cpu) {
    hold.vcpu_cpus.push_back(cpu);
  });
  try {
    if (!hold.vcpu_cpus.empty()) live.allocator.Commit(std::move(hold));
  } catch (const AllocationConflict& e) {
    live.warnings.push_back(std::string("qualification hold not applied: ") + e.what());
  }
}

}  // namespace

const char* PlacementOwnerName(PlacementOwner owner) {
  return owner == PlacementOwner::kKubelet ? "kubelet" : "agent";
}

OwnerChoice ChoosePlacementOwner(const std::filesystem::path& root, const AgentConfig& config) {
  switch (config.placement) {
    case PlacementSetting::kAgent:
      return {PlacementOwner::kAgent, "config " + config.source + ": placement: agent"};
    case PlacementSetting::kKubelet:
      return {PlacementOwner::kKubelet, "config " + config.source + ": placement: kubelet"};
    case PlacementSetting::kAuto:
      break;
  }
  const SysfsRoot sysfs(root);
  const auto state = kubelet::ReadCpuManagerState(sysfs);
  const std::string file = sysfs.PathOf(kubelet::kCpuManagerStatePath).string();
  if (!state) return {PlacementOwner::kAgent, "auto: no " + file};
  if (state->policy_name != "static")
    return {PlacementOwner::kAgent, "auto: " + file + " has policyName " + state->policy_name};
  return {PlacementOwner::kKubelet, "auto: " + file + " has policyName static"};
}

LiveHost LoadLiveHost(const LiveSources& sources) {
  HostModel host = DiscoverHost(sources.root);
  HostResources built = BuildHostResources(host, sources.config);
  if (sources.config.require_qualification) {
    const auto blocker = qualify::QualificationBlocker(
        qualify::ReadHistory(sources.state_dir), std::time(nullptr),
        std::chrono::hours(sources.config.qualification_max_age_hours));
    if (blocker) {
      built.realtime_blockers.push_back(*blocker);
      built.realtime_ready = false;
    }
  }
  auto resources = std::make_shared<const HostResources>(std::move(built));
  LiveHost live{.host = std::move(host),
                .resources = resources,
                .allocator = Allocator(resources),
                .owner = ChoosePlacementOwner(sources.root, sources.config),
                .warnings = {}};
  live.warnings = live.host.warnings;
  if (live.owner.owner == PlacementOwner::kAgent) {
    CommitSavedAllocations(sources.state_dir, live);
    CommitQualificationHold(sources.state_dir, live);
  }
  return live;
}

}  // namespace kvhost
