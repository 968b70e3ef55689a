// The one loader of the host as it stands now: the discovered host, the
// placement owner, and an allocator that already holds what runs. Every
// command and publisher that speaks of capacity (capacity, explain, audit,
// labels, metrics, nrt, the daemon) builds its allocator here and nowhere else,
// so they cannot disagree about what is free. When kubelet places, the agent
// never moves a KubeVirt domain's threads: `pin`/`unpin` refuse and
// `reconcile`/`pin --watch` only audit (agent/pinning/kubelet_audit.h).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"
#include "agent/kubelet/kubelet_config.h"
#include "agent/live/running_domains.h"

namespace kvhost {

namespace v1 {
class QualificationHistory;  // qualify.proto
}

// Who places dedicated VMs on this host.
enum class PlacementOwner {
  kAgent,    // plain libvirt: the agent's allocator places and pins
  kKubelet,  // KubeVirt: kubelet's static CPU/memory managers place, virt-launcher pins
};
const char* PlacementOwnerName(PlacementOwner owner);

struct OwnerChoice {
  PlacementOwner owner = PlacementOwner::kAgent;
  std::string why;  // one line for inspect/capacity: which file or setting decided
};

struct LiveSources {
  std::filesystem::path root = "/";
  // Agent mode: <state_dir>/state.pb, read without the daemon's lock (the
  // file is only ever replaced atomically, so a reader sees a whole one).
  std::filesystem::path state_dir = "/var/lib/kvhost-agent";
  AgentConfig config;
  // kubelet mode: kubelet's config file (--kubelet-config); empty: the
  // config's kubeletConfig, else found where kubelet has it
  // (agent/live/kubelet_config_location.h).
  std::string kubelet_config;
  // Agent mode: what libvirt says runs, when it was reachable. Then running
  // domains pinned by someone but missing from the state are taken too, and
  // state entries of domains that no longer run are ignored (with a
  // warning). nullopt: the state file is all there is.
  std::optional<RunningDomains> running;
};

// kubelet mode: what kubelet's CPU manager holds as its checkpoint says now.
struct KubeletCpuFacts {
  CpuSet reserved;   // kept for the system (reservedSystemCPUs or taken by topology)
  CpuSet exclusive;  // handed to pods' containers exclusively
};

struct LiveHost {
  HostModel host;
  std::shared_ptr<const HostResources> resources;
  Allocator allocator;
  OwnerChoice owner;
  // kubelet mode: the config kubelet's placement was modelled from.
  std::optional<kubelet::KubeletConfig> kubelet;
  std::optional<KubeletCpuFacts> kubelet_cpus;  // kubelet mode only
  std::vector<std::string> warnings;            // one line each, already worded for an operator
};

// requireQualification: rt1 guests only after a passing qualification on
// isolated CPUs within qualificationMaxAgeHours, else the blocker "no passing
// qualification within <age>". Pure; the loader and the daemon both apply it.
void ApplyQualificationRequirement(const AgentConfig& config,
                                   const v1::QualificationHistory& history, int64_t now_unix,
                                   HostResources& resources);

// The placement owner for `config` on `root` (config `placement`, or `auto`).
OwnerChoice ChoosePlacementOwner(const std::filesystem::path& root, const AgentConfig& config);

// Discovers the host and loads what it runs. Throws InputError (naming the
// file) when a source is unreadable: capacity then reports the host as
// unknown rather than advertise a guess.
LiveHost LoadLiveHost(const LiveSources& sources);
// The same on a host already discovered from sources.root (bench/capacity
// times what live loading adds to a discovery).
LiveHost LoadLiveHost(const LiveSources& sources, HostModel host);

// The discovered host and its placement owner with nothing charged: for the
// pinner, which rebuilds what runs from the same state file and libvirt
// (reconcile) and must survive a damaged state file, which it rebuilds.
LiveHost LoadLiveHostShape(const LiveSources& sources);
LiveHost LoadLiveHostShape(const LiveSources& sources, HostModel host);

}  // namespace kvhost
