#include "agent/daemon/kubelet_watch.h"

#include <spdlog/spdlog.h>

#include "agent/kubelet/container_runtime.h"
#include "agent/kubelet/cpu_manager_state.h"
#include "agent/pinning/audit_what_runs.h"
#include "agent/pinning/live_domains.h"

namespace kvhost {
namespace {

// Only on the real host are IRQs steered, and only where the runtime does not.
std::optional<KubeletIrqSteering> IrqSteeringFor(const LiveHost& live) {
  const SysfsRoot root = live.host.root.Sysfs();
  const auto runtime = kubelet::DetectContainerRuntime(root, live.kubelet);
  const bool agent_steers = kubelet::AgentSteersIrqs(true, runtime.runtime);
  spdlog::info("container runtime: {} ({}): IRQ steering by {}",
               kubelet::ContainerRuntimeName(runtime.runtime), runtime.why,
               agent_steers ? "the agent" : "the runtime");
  if (!agent_steers || !live.host.root.IsRealHost()) return std::nullopt;
  const auto state = kubelet::ReadCpuManagerState(root);
  return KubeletIrqSteering(root, state ? state->default_cpu_set : CpuSet{});
}

}  // namespace

KubeletWatch::KubeletWatch(boost::asio::io_context& io, ConnectionSet& connections,
                           const Catalog& catalog, std::filesystem::path state_dir,
                           std::function<const LiveHost*()> live, std::function<void()> on_audited)
    : connections_(connections),
      catalog_(catalog),
      state_dir_(std::move(state_dir)),
      live_(std::move(live)),
      on_audited_(std::move(on_audited)),
      timer_(io) {
  timer_.expires_after(std::chrono::seconds(0));
  Schedule();
}

void KubeletWatch::Schedule() {
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Audit();
    timer_.expires_after(kKubeletAuditInterval);
    Schedule();
  });
}

void KubeletWatch::Audit() {
  const LiveHost* live = live_();
  if (!live) return;  // capacity unknown: kubelet's files are not there to judge by
  connections_.Refresh(ConnectionSet::Clock::now(), nullptr);
  try {
    last_ = AuditWhatRuns(*live, catalog_, state_dir_, connections_.Open());
    // At the default level only when the findings changed: every 30 s otherwise.
    const bool changed = last_.violations_size() != findings_logged_;
    spdlog::log(changed ? spdlog::level::info : spdlog::level::debug,
                "audited: {} running domain(s), {} finding(s)", last_.domains_checked(),
                last_.violations_size());
    findings_logged_ = last_.violations_size();
    SteerIrqs(*live);
  } catch (const std::exception& e) {
    spdlog::warn("audit: {}", e.what());
  }
  on_audited_();
}

void KubeletWatch::SteerIrqs(const LiveHost& live) {
  if (!irqs_decided_) {
    irqs_ = IrqSteeringFor(live);
    irqs_decided_ = true;
  }
  if (!irqs_) return;
  for (const auto& line : irqs_->Update(GatherRunningDomains(connections_.Open(), catalog_)))
    spdlog::info("{}", line);
}

}  // namespace kvhost
