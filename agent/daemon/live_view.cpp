#include "agent/daemon/live_view.h"

#include <spdlog/spdlog.h>

#include "agent/host/discover.h"
#include "base/errors.h"

namespace kvhost {

LiveView::LiveView(LiveSources sources)
    : sources_(std::move(sources)),
      host_(DiscoverHost(sources_.root)),
      owner_(ChoosePlacementOwner(sources_.root, sources_.config)) {
  for (const auto& w : host_.warnings) spdlog::warn("{}", w);
}

void LiveView::Rediscover() {
  host_ = DiscoverHost(sources_.root);
  for (const auto& w : host_.warnings) spdlog::warn("{}", w);
}

HostRefresh LiveView::Refresh() {
  std::string moved;
  const HostRefresh refreshed = RefreshVolatileFacts(host_, &moved);
  if (refreshed == HostRefresh::kHotplug) {
    spdlog::info("{}: rediscovering the host", moved);
    Rediscover();
  }
  return refreshed;
}

bool LiveView::Load() {
  const std::string was = unknown_;
  try {
    LiveHost loaded = owner_.owner == PlacementOwner::kKubelet ? LoadLiveHost(sources_, host_)
                                                               : LoadLiveHostShape(sources_, host_);
    // Pinning starts with the owner chosen at start: a host whose owner
    // changed under the daemon (auto, kubelet's checkpoint gone or come) is
    // answered by neither until a restart. The loader has chosen it anew.
    const OwnerChoice& now = loaded.owner;
    if (now.owner != owner_.owner)
      throw InputError(sources_.root, std::string("the placement owner is now ") +
                                          PlacementOwnerName(now.owner) + " (" + now.why +
                                          "), not " + PlacementOwnerName(owner_.owner) +
                                          " as at start: restart kvhost-agent");
    live_.emplace(std::move(loaded));
    unknown_.clear();
  } catch (const InputError& e) {
    // Unknown is not a number: nothing of the last answer is kept.
    live_.reset();
    unknown_ = e.what();
  }
  if (unknown_ == was) return false;
  if (unknown_.empty())
    spdlog::warn("capacity known again ({})", owner_.why);
  else
    spdlog::error("capacity unknown, capacity labels withdrawn: {}", unknown_);
  return !unknown_.empty();
}

v1::PlacementChoice LiveView::Placement() const {
  return PlacementMessage(live_ ? PlacementOf(*live_, sources_.config) : PlacementOf(owner_));
}

}  // namespace kvhost
