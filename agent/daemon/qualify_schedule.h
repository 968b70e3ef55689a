// The daemon's own qualification runs (config qualifyInterval): oslat on the
// isolated CPUs no VM holds, lent by the daemon's pinner so nothing is placed
// there meanwhile, and stopped the moment a VM placement needs them (the run
// is then kept as cancelled). oslat runs as a supervised child polled from
// the daemon's io_context: the event loop never waits for it. The history in
// the state dir also decides the requireQualification gate on rt1.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/allocator/host_resources.h"
#include "agent/config/agent_config.h"
#include "agent/host/host_model.h"
#include "qualify.pb.h"

namespace kvhost {

class Pinner;

class QualifySchedule {
 public:
  // `config` is the daemon's, read anew at every tick (SIGHUP may change it).
  // `on_run_ended` is posted to `io` after every run kept in the history.
  QualifySchedule(boost::asio::io_context& io, const AgentConfig& config,
                  std::filesystem::path state_dir, std::function<void()> on_run_ended);
  ~QualifySchedule();  // a run still going is stopped and kept as cancelled
  QualifySchedule(const QualifySchedule&) = delete;
  QualifySchedule& operator=(const QualifySchedule&) = delete;

  // The pinner whose allocator lends the CPUs; nullptr (kubelet mode): no runs.
  // A run going on is lent again by the new pinner.
  void UsePinner(Pinner* pinner);
  // Follows another process's run (Pinner::FollowQualificationHold), then
  // starts a run when one is due and free isolated CPUs are there to measure.
  void Tick(const HostModel& host);

  // The kept runs; a damaged history file is logged and counts as none.
  v1::QualificationHistory History() const;
  // requireQualification: rt1 only after a passing run within the age.
  void Gate(HostResources& resources) const;
  // The gate would say otherwise now (a run ended, a pass aged out).
  bool GateChanged(const HostResources& resources) const;
  // For systemd's STATUS line: " qualifying:CPUS(elapsed/total s)" while a run goes, else "".
  std::string Status() const;

 private:
  struct Run;
  bool Due() const;
  void Start(const HostModel& host);
  void Lend();
  void WaitForOslat();
  void Stop(const std::string& why);
  void Finish();

  boost::asio::io_context& io_;
  const AgentConfig& config_;
  std::filesystem::path state_dir_;
  mutable std::optional<v1::QualificationHistory> cached_history_;
  mutable std::filesystem::file_time_type cached_stamp_;
  std::function<void()> on_run_ended_;
  Pinner* pinner_ = nullptr;
  std::unique_ptr<Run> run_;
  boost::asio::steady_timer poll_timer_;
  int64_t last_attempt_unix_ = 0;
  std::string last_refusal_;  // logged once, not at every tick
  bool told_kubelet_mode_ = false;
};

}  // namespace kvhost
