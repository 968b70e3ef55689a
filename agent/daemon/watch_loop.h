// The event-driven pinning: lifecycle events place and pin domains that start
// and free domains that stop; lost connections are reopened with backoff and
// reconciled. libvirt's default event loop runs on one more thread and only
// posts events to the Boost.Asio io_context, so slow libvirt calls never stall
// event delivery. `kvhost-agent run` embeds a LibvirtWatch in its own loop;
// RunWatchLoop is the bare loop (tests).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/libvirt/connection_set.h"
#include "agent/libvirt/event_loop.h"
#include "agent/pinning/pinner.h"

namespace kvhost {

class DomainLifecycleWatcher;
struct DomainLifecycleEvent;

struct WatchOptions {
  std::chrono::milliseconds refresh_interval{1000};  // connection health and pod sockets
  // Called once after the first reconcile, and after every reconcile with its
  // report (for logs, tests and the daemon's publish).
  std::function<void()> on_ready;
  std::function<void(const ReconcileReport&)> on_reconcile;
  std::function<void(const std::string& what)> on_event_handled;
  // Checked after every event and tick: true ends the loop (tests, embedding).
  std::function<bool()> stop_requested;
};

// Connections, their lifecycle watchers and the pinner they drive, on an
// io_context owned by the caller. Call everything on that io_context's thread.
class LibvirtWatch {
 public:
  LibvirtWatch(boost::asio::io_context& io, Pinner& pinner, ConnectionSet& connections,
               const WatchOptions& options);
  ~LibvirtWatch();  // watchers go before the libvirt loop thread stops
  LibvirtWatch(const LibvirtWatch&) = delete;
  LibvirtWatch& operator=(const LibvirtWatch&) = delete;

  // Reopens lost connections and picks up new pod sockets; reconciles on any
  // opening, and on the first call.
  void Refresh();
  // After a rediscovery: the new pinner gets every open connection and reconciles.
  void ReplacePinner(Pinner& pinner);
  // Reconciles now (the daemon's retry after one that could not finish);
  // throws as Pinner::Reconcile does, and then calls no hook.
  void Reconcile();

 private:
  void Handle(const std::string& uri, const DomainLifecycleEvent& event);

  boost::asio::io_context& io_;
  Pinner* pinner_;
  ConnectionSet& connections_;
  const WatchOptions& options_;
  LibvirtEventLoop libvirt_loop_;  // before any watcher: libvirt needs its loop first
  std::map<std::string, std::unique_ptr<DomainLifecycleWatcher>> watchers_;
  bool ready_ = false;
};

// Runs until SIGINT or SIGTERM (or `stop_after` when non-zero, for tests).
void RunWatchLoop(Pinner& pinner, ConnectionSet& connections, const WatchOptions& options,
                  std::chrono::milliseconds stop_after = std::chrono::milliseconds::zero());

}  // namespace kvhost
