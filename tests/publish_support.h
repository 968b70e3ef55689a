// NodeReports of real fixture hosts for the publisher tests, built the way the
// `labels`/`nrt`/`metrics` commands build them (no VMs unless a test places some).
#pragma once

#include "agent/allocator/capacity.h"
#include "agent/catalog/builtin_catalog.h"
#include "agent/report/capacity_report.h"
#include "agent/report/host_report.h"
#include "allocator_support.h"
#include "publish.pb.h"

namespace kvhost::testing {

inline const Catalog& TestCatalog() {
  static const Catalog catalog = BuiltinCatalog();
  return catalog;
}

inline v1::NodeReport MakeNodeReport(const HostModel& host, const Allocator& state) {
  v1::NodeReport report;
  report.set_node_name("worker-1");
  *report.mutable_host() = BuildHostReport(host);
  *report.mutable_capacity() = BuildCapacityReport(state, ComputeCapacity(state, TestCatalog()),
                                                   ComputeFragmentation(state, TestCatalog()), {});
  report.mutable_stats()->set_version("0.1.0");
  report.mutable_placement()->set_owner("agent");
  return report;
}

inline v1::NodeReport MakeNodeReport(const HostModel& host) {
  return MakeNodeReport(host, MakeAllocator(host));
}

// Places `count` VMs of `type` (by name) and commits them; returns how many went in.
inline unsigned PlaceVms(Allocator& state, const std::string& type, unsigned count) {
  const InstanceType* t = TestCatalog().Find(type);
  unsigned placed = 0;
  for (unsigned i = 0; i < count; ++i) {
    auto result = state.Place(*t, type + "-" + std::to_string(i));
    if (!result.placement) break;
    state.Commit(std::move(*result.placement));
    ++placed;
  }
  return placed;
}

}  // namespace kvhost::testing
