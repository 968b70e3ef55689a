#include "agent/report/node_report.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "agent/allocator/capacity.h"
#include "agent/qualify/history.h"
#include "agent/report/capacity_report.h"
#include "agent/report/host_report.h"

namespace kvhost {
namespace {

// The allocator's host carries the requireQualification gate: the label and
// rt1 capacity cannot disagree.
void AddQualification(const HostResources& resources, const v1::QualificationHistory& history,
                      v1::NodeReport& report) {
  auto* realtime = report.mutable_host()->mutable_realtime();
  realtime->set_ready(realtime->ready() && resources.realtime_ready);
  for (const auto& blocker : resources.realtime_blockers)
    if (std::find(realtime->blockers().begin(), realtime->blockers().end(), blocker) ==
        realtime->blockers().end())
      realtime->add_blockers(blocker);
  if (const auto* run = qualify::LastMeasuredRun(history))
    *report.mutable_last_qualification() = *run;
  report.set_last_qualified_unix(qualify::LastQualifiedUnix(history));
}

void Stamp(const NodeReportStats& stats, v1::NodeReport& report) {
  auto* out = report.mutable_stats();
  out->set_version(stats.version);
  out->set_git_commit(stats.git_commit);
  out->set_build_type(stats.build_type);
  out->set_refresh_duration_seconds(stats.refresh_duration_seconds);
  out->set_published_unix_seconds(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  out->set_refreshes(stats.refreshes);
}

}  // namespace

v1::NodeReport BuildNodeReport(const HostModel& host, const Allocator& state,
                               const Catalog& catalog, const v1::PlacementChoice& placement,
                               const NodeReportStats& stats,
                               const v1::QualificationHistory& qualification,
                               const std::vector<v1::Allocation>& allocations) {
  v1::NodeReport report;
  report.set_node_name(stats.node_name);
  *report.mutable_host() = BuildHostReport(host);
  *report.mutable_placement() = placement;
  AddQualification(state.host(), qualification, report);
  *report.mutable_capacity() = BuildCapacityReport(state, ComputeCapacity(state, catalog),
                                                   ComputeFragmentation(state, catalog), {});
  for (const auto& allocation : allocations) *report.add_allocations() = allocation;
  Stamp(stats, report);
  return report;
}

v1::NodeReport BuildUnknownNodeReport(const HostModel& host, const v1::PlacementChoice& placement,
                                      const std::string& why, const NodeReportStats& stats,
                                      const v1::QualificationHistory& qualification) {
  v1::NodeReport report;
  report.set_node_name(stats.node_name);
  *report.mutable_host() = BuildHostReport(host);
  *report.mutable_placement() = placement;
  report.set_capacity_unknown(why);
  if (const auto* run = qualify::LastMeasuredRun(qualification))
    *report.mutable_last_qualification() = *run;
  report.set_last_qualified_unix(qualify::LastQualifiedUnix(qualification));
  Stamp(stats, report);
  return report;
}

std::string LocalHostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) < 0) throw std::runtime_error("gethostname failed");
  return name;
}

}  // namespace kvhost
