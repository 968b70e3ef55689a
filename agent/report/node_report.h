// The one NodeReport every publisher composes (labels, NRT, metrics, the API):
// host, capacity and allocations from one allocator, so the CLI's `labels`
// and the daemon's file cannot say different things about the same host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/allocator/allocator.h"
#include "agent/catalog/instance_type.h"
#include "agent/host/host_model.h"
#include "placement.pb.h"
#include "publish.pb.h"
#include "qualify.pb.h"

namespace kvhost {

struct NodeReportStats {
  std::string node_name;
  std::string version;
  std::string git_commit;
  std::string build_type;
  double refresh_duration_seconds = 0;  // what it took to learn the host this time
  uint64_t refreshes = 1;
};

// Pure: the model and the allocator in, the report out (stamped with the wall
// clock). `qualification`: the runs kept in the state dir (the last measured
// one and the last qualifying pass are published). The host is realtime-ready
// when its readiness facts hold and the allocator's host agrees (with
// requireQualification it also needs a recent pass, as rt1 capacity does).
// `allocations`: what the caller knows of each VM the allocator holds (the
// daemon's pinner; one-shot commands leave it empty).
// `placement`: who placed, as the live loader found it (every publisher says
// the owner from the report, never from a setting of its own).
v1::NodeReport BuildNodeReport(const HostModel& host, const Allocator& state,
                               const Catalog& catalog, const v1::PlacementChoice& placement,
                               const NodeReportStats& stats,
                               const v1::QualificationHistory& qualification,
                               const std::vector<v1::Allocation>& allocations = {});

// The report of a host whose capacity cannot be known now (`why`: the file
// and what is wrong with it): the host's facts and its placement owner, no
// capacity, so no publisher can give a number for it.
v1::NodeReport BuildUnknownNodeReport(const HostModel& host, const v1::PlacementChoice& placement,
                                      const std::string& why, const NodeReportStats& stats,
                                      const v1::QualificationHistory& qualification);

// This machine's hostname: the node name when none is configured.
std::string LocalHostName();

}  // namespace kvhost
