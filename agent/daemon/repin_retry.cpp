#include "agent/daemon/repin_retry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/audit.h"
#include "agent/pinning/audit_report.h"
#include "agent/pinning/drift.h"

namespace kvhost {

v1::AuditReport SurveyDrift(const Pinner& pinner,
                            const std::vector<const LibvirtConnection*>& connections) {
  std::vector<AuditViolation> violations;
  size_t checked = 0;
  for (const auto& [uuid, vm] : pinner.vms()) {
    const auto connection = std::find_if(connections.begin(), connections.end(),
                                         [&](const auto* c) { return c->uri() == vm.uri; });
    if (connection == connections.end()) continue;
    try {
      const LibvirtDomain domain = (*connection)->LookupDomain(uuid);
      const PinningDrift drift = DriftFromAllocation(
          vm.placement, ReadPinning(**connection, domain, DomainDefinition::kCurrent),
          ReadStoredPinning(**connection, domain));
      ++checked;
      if (!drift.Drifted()) continue;
      violations.push_back(
          {vm.name, audit_rule::kDriftedFromAllocation, drift.cpus_outside,
           "'" + vm.name + "' is not pinned as the agent allocated it: " + drift.Describe(),
           "the daemon retries; `kvhost-agent reconcile` re-applies it now"});
    } catch (const std::exception& e) {
      spdlog::debug("{}: pinning not read: {}", vm.name, e.what());  // gone: its event follows
    }
  }
  return AuditReportToProto(violations, checked);
}

RepinRetry::RepinRetry(boost::asio::io_context& io, Options options)
    : options_(std::move(options)), timer_(io), wait_(options_.first_wait) {}

void RepinRetry::Reconciled() {
  failure_.clear();
  state_unsaved_ = false;
  Check();
}

void RepinRetry::Run(const char* what, const std::function<void()>& step) {
  try {
    step();
  } catch (const std::exception& e) {
    spdlog::error("{}: {}", what, e.what());
    Failed(e);
  }
}

void RepinRetry::Failed(const std::exception& e) {
  failure_ = e.what();
  state_unsaved_ = dynamic_cast<const StateStoreError*>(&e) != nullptr;
  Check();
}

// The drift is read after every reconcile and retry, never at every refresh:
// between them only the lifecycle events move guests, and each pins its own.
void RepinRetry::Check() {
  try {
    audit_ = options_.survey();
  } catch (const std::exception& e) {
    spdlog::error("pinning check: {}", e.what());
  }
  const bool was_degraded = std::exchange(degraded_, !degraded().empty());
  if (!degraded_) {
    if (was_degraded) spdlog::info("every VM pinned as allocated again, the state saved");
    timer_.cancel();
    waiting_ = false;
    wait_ = options_.first_wait;
    return;
  }
  if (!was_degraded) spdlog::warn("{}", degraded());
  if (waiting_) return;
  waiting_ = true;
  wait_ = std::min(wait_, options_.longest_wait());
  timer_.expires_after(wait_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Retry();
  });
}

void RepinRetry::Retry() {
  waiting_ = false;
  wait_ = std::min(wait_ * 2, options_.longest_wait());
  Run("reconcile retry", options_.reconcile);  // a reconcile that finishes calls Reconciled
  if (!failure_.empty()) options_.publish();
}

std::string RepinRetry::degraded() const {
  if (failure_.empty() && audit_.violations_size() == 0) return "";
  std::string phrase;
  std::string details;
  if (const int n = audit_.violations_size()) {
    phrase = std::to_string(n) + (n == 1 ? " VM" : " VMs") + " not pinned as allocated";
    for (const auto& v : audit_.violations()) details += (details.empty() ? "" : "; ") + v.detail();
  }
  if (!failure_.empty()) {
    phrase += std::string(phrase.empty() ? "" : ", ") +
              (state_unsaved_ ? "state not saved" : "reconcile unfinished");
    details += (details.empty() ? "" : "; ") + failure_;
  }
  return phrase + ", retrying: " + details;
}

}  // namespace kvhost
