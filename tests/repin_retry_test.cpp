// The daemon's retry of a reconcile that could not finish, on a real
// io_context with stand-in hooks: the waits between attempts, when it stops
// and what it says meanwhile. The daemon itself is daemon_fault_test's.
#include "agent/daemon/repin_retry.h"

#include <gtest/gtest.h>

#include <vector>

#include "agent/state/state_store.h"

namespace kvhost {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kFull[] = "cannot write /s/state.pb.tmp-1-1: No space left on device";

v1::AuditReport Drifted(const std::string& domain) {
  v1::AuditReport report;
  report.set_domains_checked(1);
  v1::AuditViolation* v = report.add_violations();
  v->set_domain(domain);
  v->set_rule("drifted-from-allocation");
  v->set_detail("'" + domain + "' is not pinned as the agent allocated it");
  return report;
}

// The gaps between `start` and each attempt, then between attempts.
std::vector<Clock::duration> Gaps(Clock::time_point start,
                                  const std::vector<Clock::time_point>& t) {
  std::vector<Clock::duration> gaps;
  for (const auto& at : t) gaps.push_back(at - std::exchange(start, at));
  return gaps;
}

TEST(RepinRetry, RetriesAnUnsavedReconcileWaitingTwiceAsLongEachTimeUpToTheLongestWait) {
  boost::asio::io_context io;
  std::vector<Clock::time_point> attempts;
  int publishes = 0;
  RepinRetry* retry = nullptr;
  RepinRetry::Options options{.reconcile =
                                  [&] {
                                    attempts.push_back(Clock::now());
                                    if (attempts.size() < 5) throw StateStoreError(kFull);
                                    retry->Reconciled();
                                  },
                              .survey = [] { return v1::AuditReport(); },
                              .publish = [&] { ++publishes; },
                              .longest_wait = [] { return 200ms; },
                              .first_wait = 50ms};
  RepinRetry repin(io, options);
  retry = &repin;
  const auto start = Clock::now();
  repin.Run("rebuild", [] { throw StateStoreError(kFull); });
  EXPECT_EQ(repin.degraded(), std::string("state not saved, retrying: ") + kFull);
  io.run();  // returns once no retry is waiting
  ASSERT_EQ(attempts.size(), 5u);
  const auto gaps = Gaps(start, attempts);
  const std::vector<std::chrono::milliseconds> waits{50ms, 100ms, 200ms, 200ms, 200ms};
  for (size_t i = 0; i < waits.size(); ++i) EXPECT_GE(gaps[i], waits[i]) << "attempt " << i;
  EXPECT_LT(gaps[4], 400ms) << "capped at the longest wait, not doubled again";
  EXPECT_EQ(repin.degraded(), "") << "a reconcile that finished with nothing drifted";
  EXPECT_EQ(publishes, 4)
      << "each failed retry republishes; the one that finished publishes itself";
}

TEST(RepinRetry, ReconcilesAgainWhileAVmIsNotPinnedAsAllocatedAndCountsIt) {
  boost::asio::io_context io;
  int reconciles = 0;
  RepinRetry* retry = nullptr;
  RepinRetry repin(io,
                   {.reconcile =
                        [&] {
                          ++reconciles;
                          retry->Reconciled();
                        },
                    .survey = [&] { return reconciles < 2 ? Drifted("vm-a") : v1::AuditReport(); },
                    .publish = [] {},
                    .longest_wait = [] { return 1000ms; },
                    .first_wait = 20ms});
  retry = &repin;
  repin.Reconciled();  // a reconcile whose re-pin libvirt refused
  EXPECT_EQ(repin.audit().violations_size(), 1);
  EXPECT_EQ(
      repin.degraded(),
      "1 VM not pinned as allocated, retrying: 'vm-a' is not pinned as the agent allocated it");
  io.run();
  EXPECT_EQ(reconciles, 2);
  EXPECT_EQ(repin.audit().violations_size(), 0);
  EXPECT_EQ(repin.degraded(), "");
}

TEST(RepinRetry, AReconcileThatFinishesWithNothingDriftedSchedulesNothing) {
  boost::asio::io_context io;
  int reconciles = 0;
  RepinRetry repin(io, {.reconcile = [&] { ++reconciles; },
                        .survey = [] { return v1::AuditReport(); },
                        .publish = [] {},
                        .longest_wait = [] { return 1000ms; },
                        .first_wait = 10ms});
  repin.Reconciled();
  io.run();
  EXPECT_EQ(reconciles, 0);
  EXPECT_EQ(repin.degraded(), "");
}

}  // namespace
}  // namespace kvhost
