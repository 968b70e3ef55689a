#include "agent/live/live_host.h"

#include <algorithm>
#include <ctime>
#include <set>

#include "agent/allocator/kubelet/kubelet_policy.h"
#include "agent/host/discover.h"
#include "agent/kubelet/cpu_manager_state.h"
#include "agent/live/kubelet_live.h"
#include "agent/qualify/history.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_store.h"
#include "base/errors.h"

namespace kvhost {
namespace {

// One allocation of the state file, keyed as reconcile keys it (domain UUID;
// older states the VM id).
struct SavedAllocation {
  std::string key;
  std::string name;
  std::string uri;
  Placement placement;
};

// What the agent placed, as its state file says. The file is only ever
// replaced whole, so reading it without the daemon's lock is safe. A damaged
// file leaves what runs unknown: that is an error, not an empty host.
std::vector<SavedAllocation> ReadSaved(const StateStore& store) {
  const LoadedState loaded = store.Read();
  if (loaded.status == StateLoadStatus::kCorrupt)
    throw InputError(store.file(), "cannot tell what runs: " + loaded.problem);
  std::vector<SavedAllocation> saved;
  for (const auto& a : loaded.state.allocations()) {
    try {
      saved.push_back({a.domain_uuid().empty() ? a.vm() : a.domain_uuid(),
                       a.domain_name().empty() ? a.vm() : a.domain_name(), a.connection_uri(),
                       PlacementFromAllocation(a)});
    } catch (const std::exception& e) {
      throw InputError(store.file(), "allocation of '" + a.vm() + "' is unreadable: " + e.what());
    }
  }
  return saved;
}

void CommitSaved(const StateStore& store, SavedAllocation& entry, Allocator& allocator) {
  try {
    allocator.CommitRunning(std::move(entry.placement));
  } catch (const std::exception& e) {
    throw InputError(store.file(),
                     "allocation of '" + entry.name + "' does not fit the host: " + e.what());
  }
}

// A saved entry still counts when its domain runs, or when its libvirt did
// not answer (no news is not death); otherwise it is stale and ignored.
bool SavedStillHolds(const SavedAllocation& entry, const RunningDomains& running) {
  for (const auto& d : running.domains)
    if (d.uuid == entry.key) return true;
  if (entry.uri.empty()) return false;
  return std::find(running.connected_uris.begin(), running.connected_uris.end(), entry.uri) ==
         running.connected_uris.end();
}

bool OutsideDomains(const SavedAllocation& entry, const RunningDomains& running) {
  return std::find(running.not_managed_uuids.begin(), running.not_managed_uuids.end(), entry.key) !=
         running.not_managed_uuids.end();
}

// Running domains the state lacks: a dedicated one pinned by someone holds
// its CPUs, memory and hugepages as surely as one the agent placed.
void CommitPinnedUnknown(const RunningDomains& running, const std::set<std::string>& saved_keys,
                         LiveHost& live) {
  for (const auto& d : running.domains) {
    if (saved_keys.count(d.uuid) || !d.type) continue;
    std::optional<Placement> p = PlacementFromPinning(*live.resources, *d.type, d.uuid, d.pinning);
    if (!p) continue;
    const std::string cpus = p->DedicatedCpus().ToList();
    try {
      live.allocator.CommitRunning(std::move(*p));
      live.warnings.push_back("domain '" + d.name + "' (" + d.type->name + ", " + d.uri +
                              ") runs pinned to CPUs " + cpus +
                              " but is not in the agent's state: counted as taken");
    } catch (const AllocationConflict& e) {
      live.warnings.push_back("domain '" + d.name + "' runs pinned to CPUs " + cpus +
                              " that overlap another VM's: not counted (" + e.what() + ")");
    }
  }
}

// Agent mode: the state file, and what libvirt says runs when it was reachable.
void CommitAgentAllocations(const LiveSources& sources, LiveHost& live) {
  const StateStore store(sources.state_dir);
  std::vector<SavedAllocation> saved = ReadSaved(store);
  std::set<std::string> saved_keys;
  for (auto& entry : saved) {
    saved_keys.insert(entry.key);
    if (sources.running && OutsideDomains(entry, *sources.running)) {
      live.warnings.push_back(store.file().string() + ": allocation of '" + entry.name + "' (" +
                              entry.placement.instance_type +
                              ") ignored: the domain is outside the config's `domains`");
      continue;
    }
    if (sources.running && !SavedStillHolds(entry, *sources.running)) {
      live.warnings.push_back(store.file().string() + ": allocation of '" + entry.name + "' (" +
                              entry.placement.instance_type +
                              ") ignored: the domain no longer runs" +
                              (entry.uri.empty() ? "" : " behind " + entry.uri));
      continue;
    }
    CommitSaved(store, entry, live.allocator);
  }
  if (sources.running) CommitPinnedUnknown(*sources.running, saved_keys, live);
}

kubevirt::Settings KubeVirtSettings(const AgentConfig& config) {
  kubevirt::Settings s;
  s.cpu_allocation_ratio = config.kubevirt_cpu_allocation_ratio;
  s.align_cpus = config.kubevirt_align_cpus;
  return s;
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

KubeletCpuFacts KubeletCpusOf(const kubelet::KubeletHost& node) {
  KubeletCpuFacts facts{node.node.cpu->reserved(), {}};
  for (const auto& [pod, containers] : node.node.cpu_state.assignments)
    for (const auto& [name, cpus] : containers) facts.exclusive |= cpus;
  return facts;
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
  const SysfsRoot sysfs(root, SysfsRoot::Access::kKeptFiles);  // a few files: no root fd
  const auto state = kubelet::ReadCpuManagerState(sysfs);
  const std::string file = sysfs.PathText(kubelet::kCpuManagerStatePath);
  if (!state) return {PlacementOwner::kAgent, "auto: no " + file};
  if (state->policy_name != "static")
    return {PlacementOwner::kAgent, "auto: " + file + " has policyName " + state->policy_name};
  return {PlacementOwner::kKubelet, "auto: " + file + " has policyName static"};
}

void ApplyQualificationRequirement(const AgentConfig& config,
                                   const v1::QualificationHistory& history, int64_t now_unix,
                                   HostResources& resources) {
  if (!config.require_qualification) return;
  const auto blocker = qualify::QualificationBlocker(
      history, now_unix, std::chrono::hours(config.qualification_max_age_hours));
  if (!blocker) return;
  resources.realtime_blockers.push_back(*blocker);
  resources.realtime_ready = false;
}

LiveHost LoadLiveHostShape(const LiveSources& sources) {
  return LoadLiveHostShape(sources, DiscoverHost(sources.root));
}

LiveHost LoadLiveHostShape(const LiveSources& sources, HostModel host) {
  HostResources built = BuildHostResources(host, sources.config);
  if (sources.config.require_qualification)
    ApplyQualificationRequirement(sources.config, qualify::ReadHistory(sources.state_dir),
                                  std::time(nullptr), built);
  auto resources = std::make_shared<const HostResources>(std::move(built));
  LiveHost live{.host = std::move(host),
                .resources = resources,
                .allocator = Allocator(resources),
                .owner = ChoosePlacementOwner(sources.root, sources.config),
                .kubelet = std::nullopt,
                .kubelet_cpus = std::nullopt,
                .warnings = {}};
  live.warnings = live.host.warnings;
  return live;
}

LiveHost LoadLiveHost(const LiveSources& sources) {
  return LoadLiveHost(sources, DiscoverHost(sources.root));
}

LiveHost LoadLiveHost(const LiveSources& sources, HostModel host) {
  LiveHost live = LoadLiveHostShape(sources, std::move(host));
  if (live.owner.owner == PlacementOwner::kAgent) {
    CommitAgentAllocations(sources, live);
    CommitQualificationHold(sources.state_dir, live);
  } else {
    // kubelet places: its config and checkpoints are what runs.
    live.kubelet = LoadKubeletConfig(sources.root, sources.kubelet_config, sources.config);
    auto node = LoadKubeletHost(live.host, *live.kubelet, KubeVirtSettings(sources.config));
    live.kubelet_cpus = KubeletCpusOf(*node);
    live.allocator.UsePolicy(std::make_unique<kubelet::KubeletPolicy>(std::move(node)));
  }
  return live;
}

}  // namespace kvhost
