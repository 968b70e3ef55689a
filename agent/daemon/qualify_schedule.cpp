#include "agent/daemon/qualify_schedule.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <ctime>

#include "agent/live/live_host.h"
#include "agent/pinning/pinner.h"
#include "agent/qualify/history.h"
#include "agent/qualify/qualification.h"
#include "agent/qualify/run_text.h"
#include "base/temp_dir.h"

namespace kvhost {
namespace {

// oslat's exit is noticed within this; the loop is otherwise free.
constexpr std::chrono::milliseconds kPollPeriod{100};
constexpr const char* kGatePrefix = "no passing qualification within";

std::optional<std::string> GateOf(const HostResources& resources) {
  for (const auto& blocker : resources.realtime_blockers)
    if (blocker.starts_with(kGatePrefix)) return blocker;
  return std::nullopt;
}

}  // namespace

struct QualifySchedule::Run {
  qualify::QualifyJob job;
  RealtimeReadiness readiness;
  TempDir dir{qualify::kOslatWorkDirPrefix};
  std::unique_ptr<qualify::CpuHold> hold_file;  // the CLI's live loader sees the CPUs taken
  v1::QualificationRun record;
  std::unique_ptr<qualify::OslatChild> child;
  std::filesystem::path json_file() const { return dir.path() / "oslat.json"; }
};

QualifySchedule::QualifySchedule(boost::asio::io_context& io, const AgentConfig& config,
                                 std::filesystem::path state_dir,
                                 std::function<void()> on_run_ended)
    : io_(io),
      config_(config),
      state_dir_(std::move(state_dir)),
      on_run_ended_(std::move(on_run_ended)),
      poll_timer_(io) {}

QualifySchedule::~QualifySchedule() {
  pinner_ = nullptr;  // the daemon's pinner may be gone already; its loan goes with it
  Stop("stopped: the daemon stops");
}

void QualifySchedule::UsePinner(Pinner* pinner) {
  pinner_ = pinner;
  if (run_ && pinner_) Lend();
}

void QualifySchedule::Tick(const HostModel& host) {
  if (config_.qualify_schedule.interval.count() > 0 && !pinner_ && !told_kubelet_mode_) {
    spdlog::warn("qualifyInterval ignored: kubelet places VMs, so the agent cannot lend its CPUs");
    told_kubelet_mode_ = true;
  }
  // A CLI `qualify` holds its CPUs in the hold file: published capacity and
  // this schedule's own choice leave them alone from this tick on.
  if (pinner_) pinner_->FollowQualificationHold();
  if (Due()) Start(host);
}

bool QualifySchedule::Due() const {
  const auto interval = config_.qualify_schedule.interval;
  if (interval.count() == 0 || run_ || !pinner_) return false;
  // A cancelled run measured nothing: the one it stood for is still due.
  int64_t last = last_attempt_unix_;
  const v1::QualificationHistory history = History();
  for (const auto& run : history.runs())
    if (run.outcome() != v1::QUALIFY_CANCELLED) last = std::max<int64_t>(last, run.started_unix());
  return last == 0 || std::time(nullptr) >= last + interval.count();
}

void QualifySchedule::Start(const HostModel& host) {
  const auto& settings = config_.qualify_schedule;
  auto run = std::make_unique<Run>();
  try {
    // Only dedicated CPUs can be lent: the others are never a VM's to need.
    const CpuSet lendable = host.isolation.isolated & pinner_->allocator().host().dedicated;
    run->job = {
        .settings = {.duration_seconds = static_cast<unsigned>(settings.duration.count()),
                     .threshold_us = settings.threshold_us,
                     .workload = settings.workload,
                     .rtprio = settings.rtprio},
        .choice = qualify::ChooseCpus(host.cpu, lendable, pinner_->allocator().HeldCpus(), {}),
        .state_dir = state_dir_};
  } catch (const qualify::CpuChoiceRefused& e) {
    if (last_refusal_ != e.what()) spdlog::info("qualification waits: {}", e.what());
    last_refusal_ = e.what();
    return;
  }
  last_refusal_.clear();
  run->readiness = host.realtime;
  run_ = std::move(run);
  try {
    Lend();
    run_->hold_file = std::make_unique<qualify::CpuHold>(state_dir_, run_->job.choice.all());
  } catch (const std::exception& e) {
    spdlog::error("qualification not started: {}", e.what());
    if (pinner_) pinner_->EndLoan();
    run_.reset();
    return;
  }
  run_->record = qualify::StartRun(run_->job);
  run_->child =
      std::make_unique<qualify::OslatChild>(qualify::InvocationOf(run_->job, run_->json_file()));
  if (!run_->child->running()) return Finish();
  spdlog::info("qualification started: oslat {} s on CPUs {} (pid {})",
               run_->job.settings.duration_seconds, run_->job.choice.all().ToList(),
               run_->child->pid());
  WaitForOslat();
}

void QualifySchedule::Lend() {
  pinner_->Lend({.name = "qualification",
                 .cpus = run_->job.choice.all(),
                 .preempted = [this](const CpuSet& needed) {
                   if (run_) Stop(qualify::PreemptionReason(run_->job.choice.all(), needed));
                 }});
}

void QualifySchedule::WaitForOslat() {
  poll_timer_.expires_after(kPollPeriod);
  poll_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !run_) return;
    qualify::OslatChild& child = *run_->child;
    if (child.Poll()) return Finish();
    if (child.Overdue()) {
      const auto limit = run_->job.settings.duration_seconds + run_->job.margin.count();
      child.Kill(std::chrono::milliseconds(0), qualify::OslatExit::How::kTimedOut,
                 "no result after " + std::to_string(limit) + " s: killed");
      return Finish();
    }
    WaitForOslat();
  });
}

// SIGKILL at once: a VM waits for these CPUs, and oslat's result is no longer wanted.
void QualifySchedule::Stop(const std::string& why) {
  if (!run_) return;
  if (run_->child)
    run_->child->Kill(std::chrono::milliseconds(0), qualify::OslatExit::How::kStopped, why);
  Finish();
}

void QualifySchedule::Finish() {
  std::unique_ptr<Run> run = std::move(run_);
  poll_timer_.cancel();
  qualify::RecordExit(run->job, run->child->exit(), run->json_file(), run->readiness, run->record);
  // Counted even when the history cannot keep it, lest a failing run start at every tick.
  if (run->record.outcome() != v1::QUALIFY_CANCELLED)
    last_attempt_unix_ = run->record.started_unix();
  run->hold_file.reset();
  if (pinner_) pinner_->EndLoan();
  try {
    qualify::EndRun(run->job, run->record);
  } catch (const std::exception& e) {
    spdlog::error("qualification not kept: {}", e.what());
  }
  spdlog::info("qualification {} (max {:.1f} us){}{}", qualify::OutcomeName(run->record.outcome()),
               run->record.max_latency_us(), run->record.error().empty() ? "" : ": ",
               run->record.error());
  boost::asio::post(io_, on_run_ended_);
}

// Asked at every refresh and publish: the file is parsed again only when it
// changed (a run here, or a CLI `qualify`, rewrites it by rename).
v1::QualificationHistory QualifySchedule::History() const {
  std::error_code ec;
  const auto file = state_dir_ / qualify::kHistoryFile;
  const auto stamp = std::filesystem::last_write_time(file, ec);
  if (!ec && cached_history_ && stamp == cached_stamp_) return *cached_history_;
  try {
    v1::QualificationHistory history = qualify::ReadHistory(state_dir_);
    if (!ec) cached_history_ = history, cached_stamp_ = stamp;
    return history;
  } catch (const std::exception& e) {
    spdlog::error("qualification history: {}", e.what());
    return {};
  }
}

void QualifySchedule::Gate(HostResources& resources) const {
  ApplyQualificationRequirement(config_, History(), std::time(nullptr), resources);
}

bool QualifySchedule::GateChanged(const HostResources& resources) const {
  HostResources now;
  Gate(now);
  return GateOf(now) != GateOf(resources);
}

std::string QualifySchedule::Status() const {
  if (!run_ || !run_->child) return "";
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::seconds>(run_->child->exit().elapsed).count();
  return " qualifying:" + run_->job.choice.all().ToList() + "(" + std::to_string(elapsed) + "/" +
         std::to_string(run_->job.settings.duration_seconds) + "s)";
}

}  // namespace kvhost
