// inspect's placement facts: who places for the options' config, and in
// kubelet mode kubelet's config and where it disagrees with the agent's.
#include "agent/cli/commands.h"
#include "agent/kubelet/kubelet_alignment.h"
#include "agent/live/kubelet_live.h"

namespace kvhost::cli {

PlacementFacts ReadPlacement(const HostOptions& options, const HostModel& host) {
  const AgentConfig config = options.LoadConfig();
  PlacementFacts facts{ChoosePlacementOwner(options.root, config), std::nullopt, {}};
  if (facts.owner.owner != PlacementOwner::kKubelet) return facts;
  facts.kubelet = LoadKubeletConfig(options.root, options.kubelet_config, config);
  facts.disagreements = kubelet::Disagreements(
      *facts.kubelet, AgentIntentFor(BuildHostResources(host, config), host, config));
  return facts;
}

}  // namespace kvhost::cli
