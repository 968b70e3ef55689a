// The daemon's one view of the host: the discovered model, refreshed in place,
// and the LiveHost that LoadLiveHost returns for it: what every answer of the
// daemon comes from, as every one-shot command's does. In agent mode that is
// the host's shape, which the pinner charges with what runs; in kubelet mode
// kubelet's model on kubelet's live files, loaded again at every refresh (the
// kept-file stat makes an unchanged file one system call).
#pragma once

#include <optional>
#include <string>

#include "agent/host/host_refresh.h"
#include "agent/live/live_host.h"
#include "agent/live/placement_facts.h"
#include "publish.pb.h"

namespace kvhost {

class LiveView {
 public:
  // Discovers the host; throws (naming the file) when that fails.
  explicit LiveView(LiveSources sources);

  // A new config (SIGHUP). The owner stays the one chosen at start.
  void UseConfig(const AgentConfig& config) { sources_.config = config; }
  void Rediscover();
  // The cheap refresh of the volatile facts; on hotplug a rediscovery.
  // Throws InputError naming the file (the model is then untouched).
  HostRefresh Refresh();
  // Loads what the placement owner says now. A kubelet file missing,
  // unreadable, corrupt or refused leaves the capacity unknown (`unknown()`
  // names the file and why) and no LiveHost: never the last one. Returns
  // true when the answer changed from known to unknown, or its reason did.
  bool Load();

  const HostModel& host() const { return host_; }
  const OwnerChoice& owner() const { return owner_; }
  // Null while unknown.
  const LiveHost* live() const { return live_ ? &*live_ : nullptr; }
  const std::string& unknown() const { return unknown_; }
  const LiveSources& sources() const { return sources_; }
  // The report's `placement`: kubelet's settings too when they were read.
  v1::PlacementChoice Placement() const;

 private:
  LiveSources sources_;
  HostModel host_;
  OwnerChoice owner_;
  std::optional<LiveHost> live_;
  std::string unknown_;
};

}  // namespace kvhost
