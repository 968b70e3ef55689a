// What `run` does on a host where kubelet places: it never moves a KubeVirt
// domain's threads, but audits every running domain against kubelet's
// exclusive cpusets on an interval and, on the real host where the container
// runtime does not (containerd), steers device IRQs off the CPUs of VMs that
// ask for it (agent/pinning/kubelet_irq_steering.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>

#include "agent/catalog/instance_type.h"
#include "agent/libvirt/connection_set.h"
#include "agent/live/live_host.h"
#include "agent/pinning/kubelet_irq_steering.h"
#include "audit.pb.h"

namespace kvhost {

// How often the daemon audits when kubelet places (it changes nothing).
inline constexpr std::chrono::seconds kKubeletAuditInterval{30};

class KubeletWatch {
 public:
  // `live` is asked at every audit (the daemon reloads it each refresh; null
  // while capacity is unknown: the audit waits). `on_audited` runs after each.
  KubeletWatch(boost::asio::io_context& io, ConnectionSet& connections, const Catalog& catalog,
               std::filesystem::path state_dir, std::function<const LiveHost*()> live,
               std::function<void()> on_audited);

  // The last audit's findings (empty before the first).
  const v1::AuditReport& last() const { return last_; }

 private:
  void Audit();
  void Schedule();
  void SteerIrqs(const LiveHost& live);

  ConnectionSet& connections_;
  const Catalog& catalog_;
  std::filesystem::path state_dir_;
  std::function<const LiveHost*()> live_;
  std::function<void()> on_audited_;
  boost::asio::steady_timer timer_;
  std::optional<KubeletIrqSteering> irqs_;
  bool irqs_decided_ = false;
  v1::AuditReport last_;
  int findings_logged_ = 0;  // the findings count last said at the default level
};

}  // namespace kvhost
