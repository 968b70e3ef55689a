#include "agent/daemon/daemon.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "agent/config/config_loader.h"
#include "agent/control/control_server.h"
#include "agent/daemon/control_actions.h"
#include "agent/daemon/kubelet_watch.h"
#include "agent/daemon/live_view.h"
#include "agent/daemon/publisher.h"
#include "agent/daemon/qualify_schedule.h"
#include "agent/daemon/reload.h"
#include "agent/daemon/repin_retry.h"
#include "agent/daemon/self_affinity.h"
#include "agent/daemon/startup_line.h"
#include "agent/daemon/startup_pages.h"
#include "agent/daemon/watch_loop.h"
#include "agent/daemon/watchdog.h"
#include "agent/pinning/live_domains.h"
#include "agent/report/node_report.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_lock.h"

namespace kvhost {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& options)
      : options_(options),
        config_(LoadConfig()),
        catalog_(options.load_catalog()),
        view_(Sources()),
        connections_(options.connect, options.kubevirt_glob, ConnectionSet::Retrying::kWithBackoff,
                     ManagedDomains(config_)) {}

  int Run() {
    const auto start = SteadyClock::now();
    view_.Load();
    last_refresh_seconds_ = SecondsSince(start);
    // Before any thread starts (libvirt's loop): every thread inherits this.
    const CpuSet reserved = BuildHostResources(view_.host(), config_).reserved;
    if (!reserved.Empty()) BindSelfToCpus(reserved);
    outputs_.publisher = std::make_shared<Publisher>(io_, config_.daemon);
    if (KubeletPlaces())
      StartKubeletWatch();
    else
      StartPinning();
    WaitForStop();
    WaitForReload();
    watchdog_.Start();
    boost::asio::post(io_, [this] { Tick(); });
    io_.run();
    outputs_.control.reset();
    kubelet_watch_.reset();
    watch_.reset();  // libvirt's loop thread stops before the pinner goes
    return 0;
  }

 private:
  AgentConfig LoadConfig() const {
    return options_.config_path.empty() ? LoadAgentConfig()
                                        : LoadAgentConfig(options_.config_path, true);
  }

  LiveSources Sources() const {
    return {.root = options_.root,
            .state_dir = options_.state_dir,
            .config = config_,
            .kubelet_config = options_.kubelet_config,
            .running = std::nullopt};
  }

  bool KubeletPlaces() const { return view_.owner().owner == PlacementOwner::kKubelet; }

  // Agent mode: the pinner charges the host's shape with what runs. Without
  // the shape (a file it needs is bad) nothing can be pinned or counted.
  const LiveHost& AgentShape() const {
    if (!view_.live()) throw std::runtime_error(view_.unknown());
    return *view_.live();
  }

  void StartKubeletWatch() {
    kubelet_watch_ = std::make_unique<KubeletWatch>(
        io_, connections_, catalog_, options_.state_dir, [this] { return view_.live(); },
        [this] { Publish(); });
  }

  void StartPinning() {
    lock_ = std::make_unique<StateLock>(options_.state_dir);
    pinner_ = NewPinner();
    qualify_.UsePinner(pinner_.get());
    watch_options_.on_reconcile = [this](const ReconcileReport&) {
      repin_.Reconciled();
      Publish();
    };
    watch_options_.on_event_handled = [this](const std::string&) { Publish(); };
    watch_ = std::make_unique<LibvirtWatch>(io_, *pinner_, connections_, watch_options_);
    if (!config_.daemon.control_socket.empty())
      outputs_.control = ControlSocket(config_.daemon.control_socket);
  }

  // One process owns the allocator: the CLI's pin, unpin and reconcile come
  // here while the daemon runs, and act on this pinner between events.
  std::shared_ptr<control::Server> ControlSocket(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::create_directories(path.parent_path(),
                                            ec))  // by hand; systemd: RuntimeDirectory
      std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all, ec);
    auto server = std::make_shared<control::Server>(
        io_, control::ServerOptions{.path = path}, [this](const v1::ControlRequest& request) {
          if (auto refused = RefuseOtherStateDir(request, options_.state_dir)) return *refused;
          const auto response =
              request.has_reconcile()
                  ? repin_.Reconciling([&] { return ActForControlRequest(request, *pinner_); })
                  : ActForControlRequest(request, *pinner_);
          Publish();
          return response;
        });
    spdlog::debug("control socket {}", path.string());
    return server;
  }

  // kubelet mode serves no control socket: there is no pinner to act on.
  ControlSocketFactory ControlSockets() {
    if (!pinner_) return {};
    return [this](const std::filesystem::path& path) { return ControlSocket(path); };
  }

  std::unique_ptr<Pinner> NewPinner() const {
    const LiveHost& shape = AgentShape();
    auto pinner =
        std::make_unique<Pinner>(shape.resources, catalog_, StateStore(options_.state_dir));
    // Only on the real host are QEMU processes checked and tuned through /proc.
    if (shape.host.root.IsRealHost()) pinner->SetLocalRoot("/");
    return pinner;
  }

  void WaitForStop() {
    stop_signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("signal {}: stopping", signal);
      sd_notify(0, "STOPPING=1");
      io_.stop();
    });
  }

  void WaitForReload() {
    reload_signal_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      Reload();
      WaitForReload();
    });
  }

  void Tick() {
    if (watch_) repin_.Run("libvirt", [this] { watch_->Refresh(); });
    FollowLibvirt();
    Guarded("refresh", [this] { RefreshHost(); });
    Guarded("qualification", [this] { FollowQualification(); });
    Guarded("publish", [this] { Publish(); });
    ScheduleTick();
  }

  // expires_after cancels a wait already pending: a reload re-arms with its interval.
  void ScheduleTick() {
    refresh_timer_.expires_after(config_.daemon.refresh_interval);
    refresh_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Tick();
    });
  }

  template <class Step>
  static void Guarded(const char* what, Step step) {
    try {
      step();
    } catch (const std::exception& e) {
      spdlog::error("{}: {}", what, e.what());
    }
  }

  // The cheap path: only what moves while the host runs; hwloc runs again
  // only on hotplug. kubelet mode reads kubelet's files at every refresh
  // (one stat each while unchanged) and follows a checkpoint within one.
  void RefreshHost() {
    const auto start = SteadyClock::now();
    const HostRefresh refreshed = view_.Refresh();
    ++refreshes_;
    if (KubeletPlaces()) {
      view_.Load();
    } else if (refreshed != HostRefresh::kUnchanged) {
      spdlog::debug("hugepage pools, isolation or CPUs changed: recounting");
      RebuildAllocator();
    }
    last_refresh_seconds_ = SecondsSince(start);
    if (refreshed == HostRefresh::kHotplug) ReleaseStartupPages();  // hwloc's, as after the start
  }

  // Agent mode: what runs is libvirt's word (QEMU outlives a stopped
  // libvirtd), so while a URI does not answer the capacity is unknown.
  void FollowLibvirt() {
    const std::string now = watch_ ? connections_.Unanswered().value_or("") : "";
    if (now == libvirt_unknown_) return;
    if (now.empty())
      spdlog::warn("capacity known again: every libvirt connection answers");
    else
      spdlog::error("capacity unknown, capacity labels withdrawn: {}", now);
    libvirt_unknown_ = now;
  }

  // rt1 follows the verdict (a run ended, a pass aged out); a due run starts.
  void FollowQualification() {
    if (view_.live() && qualify_.GateChanged(*view_.live()->resources)) RebuildAllocator();
    qualify_.Tick(view_.host());
  }

  void RebuildAllocator() {
    view_.Load();
    if (!watch_ || !view_.live()) return;
    pinner_ = NewPinner();
    qualify_.UsePinner(pinner_.get());
    repin_.Run("rebuild", [this] { watch_->ReplacePinner(*pinner_); });  // reconciles, publishes
  }

  // SIGHUP: a new config, all or nothing (reload.h; a bad one keeps the old),
  // then a full rediscovery.
  void Reload() {
    spdlog::info("SIGHUP: reloading the config and rediscovering the host");
    try {
      AgentConfig next = LoadConfig();
      DaemonOutputs outputs =
          ReloadOutputs(io_, config_.daemon, next.daemon, outputs_, ControlSockets());
      const bool new_interval = next.daemon.refresh_interval != config_.daemon.refresh_interval;
      config_ = std::move(next);
      view_.UseConfig(config_);
      outputs_ = std::move(outputs);  // what it replaced closes here
      // A shorter refreshInterval holds from now, not after the old one ran out.
      if (new_interval) ScheduleTick();
      // The allocator's rebuild below reconciles with the new `domains`.
      connections_.UseDomainFilter(ManagedDomains(config_));
    } catch (const std::exception& e) {
      spdlog::error("SIGHUP: keeping the running config: {}", e.what());
    }
    Guarded("catalog", [this] { catalog_ = options_.load_catalog(); });
    Guarded("rediscovery", [this] {
      view_.Rediscover();
      ++refreshes_;
      RebuildAllocator();
      ReleaseStartupPages();  // hwloc's code and data, as after the start
    });
    Guarded("publish", [this] { Publish(); });
  }

  // The report every publisher composes, from the placement owner's answer
  // as LoadLiveHost gave it; unknown capacity gives a report without numbers.
  v1::NodeReport BuildReport(std::vector<v1::Allocation>& allocations) const {
    const NodeReportStats stats{
        .node_name = config_.daemon.node_name.empty() ? LocalHostName() : config_.daemon.node_name,
        .version = options_.version,
        .git_commit = options_.git_commit,
        .build_type = options_.build_type,
        .refresh_duration_seconds = last_refresh_seconds_,
        .refreshes = refreshes_};
    const LiveHost* live = view_.live();
    const std::string unknown = live ? libvirt_unknown_ : view_.unknown();
    if (!unknown.empty())
      return BuildUnknownNodeReport(view_.host(), view_.Placement(), unknown, stats,
                                    qualify_.History());
    if (pinner_) {
      for (const auto& [uuid, vm] : pinner_->vms())
        allocations.push_back(AllocationFromPlacement(vm.placement, uuid, vm.uri));
      v1::NodeReport report =
          BuildNodeReport(view_.host(), pinner_->allocator(), catalog_, view_.Placement(), stats,
                          qualify_.History(), allocations);
      *report.mutable_audit() = repin_.audit();
      report.set_degraded(repin_.degraded());
      return report;
    }
    v1::NodeReport report = BuildNodeReport(view_.host(), live->allocator, catalog_,
                                            view_.Placement(), stats, qualify_.History());
    *report.mutable_kubelet_cpus() = KubeletCpusOf(*live);
    if (kubelet_watch_) *report.mutable_audit() = kubelet_watch_->last();
    return report;
  }

  void Publish() {
    if (!outputs_.publisher) return;
    std::vector<v1::Allocation> allocations;
    const v1::NodeReport report = BuildReport(allocations);
    outputs_.publisher->Publish(report);
    NotifyStatus(StatusLine(report, allocations.size()) + qualify_.Status());
    if (ready_) return;
    ready_ = true;
    sd_notify(0, "READY=1");
    spdlog::info("{}", StartupLine(Startup(), config_.daemon));
    // Posted: it runs once this first tick has taken every path of the idle
    // loop (and made their lazy symbol bindings), so only start-up's pages go.
    boost::asio::post(io_, [] {
      Guarded("release", [] {
        spdlog::debug("released {} KiB that only start-up used", ReleaseStartupPages().file_kib);
      });
    });
    if (options_.on_ready) options_.on_ready(connections_.Open());
  }

  StartupFacts Startup() const {
    const LiveHost* live = view_.live();
    return {.version = options_.version,
            .git_commit = options_.git_commit,
            .build_type = options_.build_type,
            .root = options_.root.string(),
            .owner = PlacementOwnerName(view_.owner().owner),
            .owner_why = view_.owner().why,
            .kubelet_config = live && live->kubelet
                                  ? live->kubelet->source + " (" + live->kubelet->source_why + ")"
                                  : "",
            .libvirt_uris = options_.connect,
            .kubevirt_glob = options_.kubevirt_glob,
            .kubelet_audit_interval = kKubeletAuditInterval,
            .api_port = outputs_.publisher->api_port(),
            .control_socket = outputs_.control != nullptr};
  }

  // sd_notify blocks while the manager's queue is full (net.unix.max_dgram_qlen,
  // 10 by default), so a line repeated at every refresh could stall the event
  // loop behind a slow reader: STATUS goes out only when it changes.
  void NotifyStatus(const std::string& line) {
    if (line == last_status_) return;
    sd_notifyf(0, "STATUS=%s", line.c_str());
    last_status_ = line;
  }

  const DaemonOptions& options_;
  AgentConfig config_;
  Catalog catalog_;
  LiveView view_;
  boost::asio::io_context io_;
  boost::asio::signal_set stop_signals_{io_, SIGINT, SIGTERM};
  boost::asio::signal_set reload_signal_{io_, SIGHUP};
  boost::asio::steady_timer refresh_timer_{io_};
  SystemdWatchdog watchdog_{io_};
  DaemonOutputs outputs_;            // the publishers and the control socket
  std::unique_ptr<StateLock> lock_;  // agent mode: one process decides allocations
  ConnectionSet connections_;
  std::unique_ptr<Pinner> pinner_;
  WatchOptions watch_options_;
  std::unique_ptr<LibvirtWatch> watch_;
  RepinRetry repin_{io_,
                    {.reconcile = [this] { watch_->Reconcile(); },
                     .survey = [this] { return SurveyDrift(*pinner_, connections_.Open()); },
                     .publish = [this] { Publish(); },
                     .longest_wait = [this] { return config_.daemon.refresh_interval; }}};
  std::unique_ptr<KubeletWatch> kubelet_watch_;  // kubelet mode: audits, steers IRQs
  uint64_t refreshes_ = 1;
  double last_refresh_seconds_ = 0;
  bool ready_ = false;
  std::string libvirt_unknown_;  // agent mode: the libvirt URI that does not answer, and why
  std::string last_status_;
  // Last: a run still going stops before the pinner that lends its CPUs goes.
  QualifySchedule qualify_{io_, config_, options_.state_dir, [this] {
                             Guarded("qualification", [this] {
                               if (view_.live() && qualify_.GateChanged(*view_.live()->resources))
                                 RebuildAllocator();
                               Publish();
                             });
                           }};
};

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  // The version goes in the ready line (StartupLine), or in the error when it cannot start.
  spdlog::debug("kvhost-agent {} (commit {}, {} build) starting on root {}", options.version,
                options.git_commit, options.build_type, options.root.string());
  try {
    return Daemon(options).Run();
  } catch (const std::exception& e) {
    throw std::runtime_error("kvhost-agent " + options.version + " cannot start: " + e.what());
  }
}

}  // namespace kvhost
