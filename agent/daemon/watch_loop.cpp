#include "agent/daemon/watch_loop.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>

#include "agent/libvirt/event_loop.h"
#include "agent/libvirt/lifecycle_watcher.h"

namespace kvhost {
void RunWatchLoop(Pinner& pinner, ConnectionSet& connections, const WatchOptions& options,
                  std::chrono::milliseconds stop_after) {
  boost::asio::io_context io;
  LibvirtEventLoop libvirt_loop;  // before any watcher: libvirt needs its loop first
  std::map<std::string, std::unique_ptr<DomainLifecycleWatcher>> watchers;
  bool ready = false;

  auto handle = [&](const std::string& uri, const DomainLifecycleEvent& e) {
    std::string what = LifecycleEventName(e.event) + " " + e.domain_name;
    try {
      if (e.change == LifecycleChange::kStarted) {
        if (!pinner.allocator().placements().count(e.domain_uuid)) {
          const PinOutcome out = pinner.Pin(uri, e.domain_uuid);
          spdlog::info("{} started: pinned as {} ({})", e.domain_name, out.placement.instance_type,
                       out.type_source);
        }
      } else if (e.change == LifecycleChange::kEnded) {
        if (pinner.Forget(e.domain_uuid))
          spdlog::info("{} {}: freed its CPUs", e.domain_name, LifecycleEventName(e.event));
      }
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
      what += " (failed: " + std::string(ex.what()) + ")";
    }
    if (options.on_event_handled) options.on_event_handled(what);
    if (options.stop_requested && options.stop_requested()) io.stop();
  };

  auto reconcile = [&] {
    const ReconcileReport report = pinner.Reconcile();
    LogReconcile(report);
    if (options.on_reconcile) options.on_reconcile(report);
    // systemd (Type=notify) learns the state is true before anything depends on us;
    // sd_notify is a no-op when not started by systemd.
    sd_notifyf(0, "STATUS=%zu domains allocated", pinner.allocator().placements().size());
    if (!ready) {
      ready = true;
      sd_notify(0, "READY=1");
      if (options.on_ready) options.on_ready();
    }
  };

  auto refresh = [&] {
    auto changes = connections.Refresh(ConnectionSet::Clock::now(), [&](const std::string& uri) {
      watchers.erase(uri);  // a watcher must go before its connection closes
      pinner.RemoveConnection(uri);
    });
    for (const LibvirtConnection* c : changes.opened) {
      pinner.AddConnection(c);
      const std::string uri = c->uri();
      watchers[uri] = std::make_unique<DomainLifecycleWatcher>(
          *c, [&io, &handle, uri](const DomainLifecycleEvent& e) {
            boost::asio::post(io, [&handle, uri, e] { handle(uri, e); });
          });
    }
    // A connection that closed says nothing about its domains; the one that
    // (re)opens brings the news, so only openings (and the start) reconcile.
    if (!changes.opened.empty() || !ready) reconcile();
  };

  boost::asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    try {
      refresh();
    } catch (const std::exception& e) {
      spdlog::error("refresh: {}", e.what());
    }
    if (options.stop_requested && options.stop_requested()) {
      io.stop();
      return;
    }
    timer.expires_after(options.refresh_interval);
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  };
  boost::asio::post(io, tick);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) spdlog::info("signal {}: stopping", sig);
    io.stop();
  });
  boost::asio::steady_timer deadline(io);
  if (stop_after.count() > 0) {
    deadline.expires_after(stop_after);
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
  }
  io.run();
  sd_notify(0, "STOPPING=1");
  watchers.clear();  // deregister before the loop thread stops
  libvirt_loop.Stop();
}

}  // namespace kvhost
