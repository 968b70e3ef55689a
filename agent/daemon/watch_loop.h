// The event-driven pinning loop: lifecycle events place and pin domains that
// start and free domains that stop; lost connections are reopened with
// backoff and reconciled. Runs on a Boost.Asio io_context on the calling
// thread; libvirt's default event loop runs on one more thread and only
// posts events here, so slow libvirt calls never stall event delivery.
#pragma once

#include <chrono>
#include <functional>

#include "agent/libvirt/connection_set.h"
#include "agent/pinning/pinner.h"

namespace kvhost {

struct WatchOptions {
  std::chrono::milliseconds refresh_interval{1000};  // connection health and pod sockets
  // Called once after the first reconcile (systemd READY=1), and after every
  // reconcile with its report (for logs and tests).
  std::function<void()> on_ready;
  std::function<void(const ReconcileReport&)> on_reconcile;
  std::function<void(const std::string& what)> on_event_handled;
  // Checked after every event and tick: true ends the loop (tests, embedding).
  std::function<bool()> stop_requested;
};

// Runs until SIGINT or SIGTERM (or `stop_after` when non-zero, for tests).
void RunWatchLoop(Pinner& pinner, ConnectionSet& connections, const WatchOptions& options,
                  std::chrono::milliseconds stop_after = std::chrono::milliseconds::zero());

}  // namespace kvhost
