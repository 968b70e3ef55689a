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
namespace {

class WatchLoop {
 public:
  WatchLoop(Pinner& pinner, ConnectionSet& connections, const WatchOptions& options)
      : pinner_(pinner), connections_(connections), options_(options), timer_(io_) {}

  void Run(std::chrono::milliseconds stop_after) {
    boost::asio::post(io_, [this] { Tick(); });
    boost::asio::signal_set signals(io_, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (!ec) spdlog::info("signal {}: stopping", sig);
      io_.stop();
    });
    boost::asio::steady_timer deadline(io_);
    if (stop_after.count() > 0) {
      deadline.expires_after(stop_after);
      deadline.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) io_.stop();
      });
    }
    io_.run();
    sd_notify(0, "STOPPING=1");
    watchers_.clear();  // deregister before the loop thread stops
    libvirt_loop_.Stop();
  }

 private:
  bool StopRequested() const { return options_.stop_requested && options_.stop_requested(); }

  void Handle(const std::string& uri, const DomainLifecycleEvent& e) {
    std::string what = LifecycleEventName(e.event) + " " + e.domain_name;
    try {
      if (e.change == LifecycleChange::kStarted) {
        if (!pinner_.allocator().placements().count(e.domain_uuid)) {
          const PinOutcome out = pinner_.Pin(uri, e.domain_uuid);
          spdlog::info("{} started: pinned as {} ({})", e.domain_name, out.placement.instance_type,
                       out.type_source);
        }
      } else if (e.change == LifecycleChange::kEnded) {
        if (pinner_.Forget(e.domain_uuid))
          spdlog::info("{} {}: freed its CPUs", e.domain_name, LifecycleEventName(e.event));
      }
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
      what += " (failed: " + std::string(ex.what()) + ")";
    }
    if (options_.on_event_handled) options_.on_event_handled(what);
    if (StopRequested()) io_.stop();
  }

  void Reconcile() {
    const ReconcileReport report = pinner_.Reconcile();
    LogReconcile(report);
    if (options_.on_reconcile) options_.on_reconcile(report);
    // systemd (Type=notify) learns the state is true before anything depends on us;
    // sd_notify is a no-op when not started by systemd.
    sd_notifyf(0, "STATUS=%zu domains allocated", pinner_.allocator().placements().size());
    if (!ready_) {
      ready_ = true;
      sd_notify(0, "READY=1");
      if (options_.on_ready) options_.on_ready();
    }
  }

  void Refresh() {
    auto changes = connections_.Refresh(ConnectionSet::Clock::now(), [&](const std::string& uri) {
      watchers_.erase(uri);  // a watcher must go before its connection closes
      pinner_.RemoveConnection(uri);
    });
    for (const LibvirtConnection* c : changes.opened) {
      pinner_.AddConnection(c);
      const std::string uri = c->uri();
      watchers_[uri] =
          std::make_unique<DomainLifecycleWatcher>(*c, [this, uri](const DomainLifecycleEvent& e) {
            boost::asio::post(io_, [this, uri, e] { Handle(uri, e); });
          });
    }
    // A connection that closed says nothing about its domains; the one that
    // (re)opens brings the news, so only openings (and the start) reconcile.
    if (!changes.opened.empty() || !ready_) Reconcile();
  }

  void Tick() {
    try {
      Refresh();
    } catch (const std::exception& e) {
      spdlog::error("refresh: {}", e.what());
    }
    if (StopRequested()) {
      io_.stop();
      return;
    }
    timer_.expires_after(options_.refresh_interval);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Tick();
    });
  }

  Pinner& pinner_;
  ConnectionSet& connections_;
  const WatchOptions& options_;
  boost::asio::io_context io_;
  LibvirtEventLoop libvirt_loop_;  // before any watcher: libvirt needs its loop first
  std::map<std::string, std::unique_ptr<DomainLifecycleWatcher>> watchers_;
  boost::asio::steady_timer timer_;
  bool ready_ = false;
};

}  // namespace

void RunWatchLoop(Pinner& pinner, ConnectionSet& connections, const WatchOptions& options,
                  std::chrono::milliseconds stop_after) {
  WatchLoop(pinner, connections, options).Run(stop_after);
}

}  // namespace kvhost
