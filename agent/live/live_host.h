// The one loader of the host as it stands now: the discovered host, the
// placement owner, and an allocator that already holds what runs. Every
// command and publisher that speaks of capacity (capacity, explain, audit,
// labels, metrics, nrt, the daemon) builds its allocator here and nowhere else,
// so they cannot disagree about what is free.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"

namespace kvhost {

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
};

struct LiveHost {
  HostModel host;
  std::shared_ptr<const HostResources> resources;
  Allocator allocator;
  OwnerChoice owner;
  std::vector<std::string> warnings;  // one line each, already worded for an operator
};

// The placement owner for `config` on `root` (config `placement`, or `auto`).
OwnerChoice ChoosePlacementOwner(const std::filesystem::path& root, const AgentConfig& config);

// Discovers the host and loads what it runs. Throws InputError (naming the
// file) when a source is unreadable: capacity then reports the host as
// unknown rather than advertise a guess.
LiveHost LoadLiveHost(const LiveSources& sources);

}  // namespace kvhost
