// Who places, why, and in kubelet mode kubelet's live settings and CPUs: one
// value for inspect's and capacity's text and JSON and for the NodeReport
// every publisher reads, so no publisher decides the owner on its own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"
#include "agent/kubelet/kubelet_config.h"
#include "agent/live/live_host.h"
#include "placement.pb.h"
#include "publish.pb.h"

namespace kvhost {

struct PlacementFacts {
  OwnerChoice owner;
  std::optional<kubelet::KubeletConfig> kubelet;
  std::vector<std::string> disagreements;  // kubelet's settings against the agent's config
};

// What the live loader found, with `config` the loader's.
PlacementFacts PlacementOf(const LiveHost& live, const AgentConfig& config);
// The same where only the owner is known (the kubelet's config may be unreadable:
// then it is left out, and the caller says why capacity is unknown).
PlacementFacts PlacementOf(const OwnerChoice& owner);

// inspect's text lines: `placement`, then in kubelet mode `kubelet` and one `warning:` each.
std::string PlacementText(const PlacementFacts& facts);
// The `placement` of inspect's, capacity's and the NodeReport's JSON.
v1::PlacementChoice PlacementMessage(const PlacementFacts& facts);

// kubelet mode: kubelet's reserved and exclusively handed-out CPUs, for the
// NodeResourceTopology; empty in agent mode.
v1::KubeletCpus KubeletCpusOf(const LiveHost& live);

}  // namespace kvhost
