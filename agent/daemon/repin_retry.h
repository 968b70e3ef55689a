// Keeps the daemon's pinning true after a reconcile that could not finish:
// a state file that cannot be saved (disk full, read-only) stops a reconcile
// before it re-pins, and a refused re-pin leaves a guest where it was.
// Nothing else would try again until the next change, so this retries on the
// io_context, 1 s doubling up to the refresh interval, until a reconcile
// finishes and every VM is pinned as allocated. Meanwhile the VMs that are
// not are the report's audit, and `degraded()` says why.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "agent/libvirt/connection.h"
#include "agent/pinning/pinner.h"
#include "audit.pb.h"

namespace kvhost {

// Every VM `pinner` holds behind an open connection, checked against its
// allocation (drift.h): one drifted-from-allocation violation per VM whose
// libvirt pinning differs. A VM that cannot be read now is not counted.
v1::AuditReport SurveyDrift(const Pinner& pinner,
                            const std::vector<const LibvirtConnection*>& connections);

class RepinRetry {
 public:
  struct Options {
    // Reconciles: throws when it cannot finish, calls Reconciled when it does.
    std::function<void()> reconcile;
    std::function<v1::AuditReport()> survey;                  // the drift now
    std::function<void()> publish;                            // after a retry that failed
    std::function<std::chrono::milliseconds()> longest_wait;  // the refresh interval
    std::chrono::milliseconds first_wait{1000};
  };

  RepinRetry(boost::asio::io_context& io, Options options);

  // A reconcile finished (its state is saved): the drift is read again.
  void Reconciled();
  // Runs `step`, which may reconcile; a throw is logged under `what`, kept as
  // why the pinning may be off, and retried.
  void Run(const char* what, const std::function<void()>& step);
  // Runs `reconcile` for a caller that must see its throw (the CLI's
  // `reconcile` through the control socket), kept and retried as Run does.
  template <class Reconcile>
  auto Reconciling(Reconcile reconcile) {
    try {
      auto result = reconcile();
      Reconciled();
      return result;
    } catch (const std::exception& e) {
      Failed(e);
      throw;
    }
  }

  const v1::AuditReport& audit() const { return audit_; }
  // Empty while all is well; else a short phrase that holds while the cause
  // does (systemd's STATUS takes it), ": ", and the details.
  std::string degraded() const;

 private:
  void Failed(const std::exception& e);
  void Check();
  void Retry();

  Options options_;
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds wait_;
  bool waiting_ = false;
  std::string failure_;  // why the last reconcile did not finish; empty: it did
  bool state_unsaved_ = false;
  v1::AuditReport audit_;
  bool degraded_ = false;  // as last checked: logged when it comes and goes
};

}  // namespace kvhost
