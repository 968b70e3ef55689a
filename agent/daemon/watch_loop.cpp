#include "agent/daemon/watch_loop.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/libvirt/lifecycle_watcher.h"

namespace kvhost {

LibvirtWatch::LibvirtWatch(boost::asio::io_context& io, Pinner& pinner, ConnectionSet& connections,
                           const WatchOptions& options)
    : io_(io), pinner_(&pinner), connections_(connections), options_(options) {}

LibvirtWatch::~LibvirtWatch() {
  watchers_.clear();  // deregister before the loop thread stops
  libvirt_loop_.Stop();
}

void LibvirtWatch::Handle(const std::string& uri, const DomainLifecycleEvent& e) {
  std::string what = LifecycleEventName(e.event) + " " + e.domain_name;
  try {
    if (e.change == LifecycleChange::kStarted) {
      if (!pinner_->allocator().placements().count(e.domain_uuid)) {
        const PinOutcome out = pinner_->Pin(uri, e.domain_uuid);
        spdlog::info("{} started: pinned as {} ({})", e.domain_name, out.placement.instance_type,
                     out.type_source);
      }
    } else if (e.change == LifecycleChange::kEnded) {
      if (pinner_->Forget(e.domain_uuid))
        spdlog::info("{} {}: freed its CPUs", e.domain_name, LifecycleEventName(e.event));
    }
  } catch (const DomainNotManaged& ex) {
    spdlog::debug("{}: {}", what, ex.what());  // another's VM: its events are none of ours
    what += " (not managed)";
  } catch (const std::exception& ex) {
    spdlog::error("{}: {}", what, ex.what());
    what += " (failed: " + std::string(ex.what()) + ")";
  }
  if (options_.on_event_handled) options_.on_event_handled(what);
}

void LibvirtWatch::Reconcile() {
  const ReconcileReport report = pinner_->Reconcile();
  LogReconcile(report);
  if (options_.on_reconcile) options_.on_reconcile(report);
  if (!ready_) {
    ready_ = true;
    if (options_.on_ready) options_.on_ready();
  }
}

void LibvirtWatch::Refresh() {
  auto changes = connections_.Refresh(ConnectionSet::Clock::now(), [&](const std::string& uri) {
    watchers_.erase(uri);  // a watcher must go before its connection closes
    pinner_->RemoveConnection(uri);
  });
  for (const LibvirtConnection* c : changes.opened) {
    pinner_->AddConnection(c);
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

void LibvirtWatch::ReplacePinner(Pinner& pinner) {
  pinner_ = &pinner;
  for (const LibvirtConnection* c : connections_.Open()) pinner_->AddConnection(c);
  Reconcile();
}

namespace {

class WatchLoop {
 public:
  WatchLoop(Pinner& pinner, ConnectionSet& connections, const WatchOptions& options)
      : options_(options), watch_(io_, pinner, connections, Hooked(options)), timer_(io_) {}

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
  }

 private:
  bool StopRequested() const { return options_.stop_requested && options_.stop_requested(); }

  // Every handled event is also a chance to stop (tests end on an event).
  const WatchOptions& Hooked(WatchOptions options) {
    hooked_ = std::move(options);
    auto user = hooked_.on_event_handled;
    hooked_.on_event_handled = [this, user](const std::string& what) {
      if (user) user(what);
      if (StopRequested()) io_.stop();
    };
    return hooked_;
  }

  void Tick() {
    try {
      watch_.Refresh();
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

  const WatchOptions& options_;
  WatchOptions hooked_;
  boost::asio::io_context io_;
  LibvirtWatch watch_;
  boost::asio::steady_timer timer_;
};

}  // namespace

void RunWatchLoop(Pinner& pinner, ConnectionSet& connections, const WatchOptions& options,
                  std::chrono::milliseconds stop_after) {
  WatchLoop(pinner, connections, options).Run(stop_after);
}

}  // namespace kvhost
