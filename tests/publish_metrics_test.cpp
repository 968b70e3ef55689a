// /metrics text: the real `promtool check metrics` (Debian package prometheus)
// on the output of `kvhost-agent metrics` for every fixture host, and the
// numbers against the reports they come from.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "agent/publish/metrics.h"
#include "agent_process_support.h"
#include "publish_support.h"

namespace kvhost::publish {
namespace {

std::string Promtool(const std::string& text) {
  // One file per process: ctest runs this binary's tests in parallel, and a
  // shared name let one test lint the other's text (a CI flake).
  const std::string file =
      ::testing::TempDir() + "kvhost-metrics-" + std::to_string(::getpid()) + ".txt";
  std::ofstream(file) << text;
  const it::RunResult r =
      it::RunProcess({"/bin/sh", "-c", "promtool check metrics < '" + file + "'"});
  std::remove(file.c_str());
  return r.end.Exited(0) ? "" : "promtool failed: " + r.Describe();
}

TEST(Metrics, PromtoolAcceptsTheAgentsOutputForEveryFixtureHost) {
  if (!it::RunProcess({"/bin/sh", "-c", "command -v promtool"}).end.Exited(0))
    GTEST_SKIP() << "promtool missing (./dev deps installs it)";
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_NE(agent, nullptr);
  for (const auto& name : testing::FixtureNames()) {
    const it::RunResult r = it::RunProcess({agent, "metrics", "--node-name", "w1", "--root",
                                            (testing::FixturesDir() / name).string()});
    ASSERT_TRUE(r.end.Exited(0)) << name << ": " << r.Describe();
    EXPECT_EQ(Promtool(r.out), "") << name;
    EXPECT_NE(r.out.find("kvhost_build_info{version=\""), std::string::npos) << name;
  }
}

TEST(Metrics, PromtoolRejectsWhatTheNamingGuideForbids) {
  if (!it::RunProcess({"/bin/sh", "-c", "command -v promtool"}).end.Exited(0))
    GTEST_SKIP() << "promtool missing";
  // The check above can fail: a counter without _total is linted.
  EXPECT_NE(Promtool("# HELP kvhost_refreshes Refreshes.\n# TYPE kvhost_refreshes counter\n"
                     "kvhost_refreshes 1\n"),
            "");
}

double Sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(Metrics, SamplesFollowTheReport) {
  HostModel host = testing::LoadFixture("nri-desktop-10c20t");
  testing::ReserveHugepages(host, 2048, 4096);
  Allocator state = testing::MakeAllocator(host);
  const unsigned placed = testing::PlaceVms(state, "cx1.medium", 2);
  ASSERT_EQ(placed, 2u);
  v1::NodeReport report = testing::MakeNodeReport(host, state);
  report.mutable_stats()->set_refresh_duration_seconds(0.25);
  report.mutable_stats()->set_published_unix_seconds(1700000000);
  for (const auto& [vm, p] : state.placements())
    report.add_allocations()->set_dedicated(p.dedicated);
  report.mutable_audit()->add_violations()->set_rule("smt-sibling-shared");
  const std::string text = FormatMetrics(report);
  EXPECT_EQ(Sample(text, "kvhost_pinned_vms{cpu=\"dedicated\"}"), 2);
  EXPECT_EQ(Sample(text, "kvhost_audit_violations"), 1);
  EXPECT_EQ(Sample(text, "kvhost_refresh_duration_seconds"), 0.25);
  EXPECT_EQ(Sample(text, "kvhost_last_publish_timestamp_seconds"), 1700000000);
  // Two cx1.medium took 2 x 2Gi of 2Mi pages from 8Gi.
  EXPECT_EQ(
      Sample(text,
             "kvhost_numa_node_hugepages_free_bytes{numa_node=\"0\",page_size_bytes=\"2097152\"}"),
      4.0 * 1024 * 1024 * 1024);
  for (const auto& t : report.capacity().instance_types())
    EXPECT_EQ(Sample(text, "kvhost_instance_type_capacity{instance_type=\"" + t.name() +
                               "\",series=\"" + t.series() + "\"}"),
              t.count());
  EXPECT_EQ(text.find("{node="), std::string::npos);  // NUMA nodes are numa_node, never node
}

TEST(Metrics, UnknownCapacityGivesNoCapacityFamilyAndPromtoolAcceptsIt) {
  v1::NodeReport report = testing::MakeNodeReport(testing::LoadFixture("nri-desktop-10c20t"));
  report.clear_capacity();
  report.set_capacity_unknown("/var/lib/kubelet/config.yaml: absent");
  const std::string text = FormatMetrics(report);
  EXPECT_NE(text.find("\nkvhost_capacity_known 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kvhost_placement_owner_info{owner=\"agent\"} 1"), std::string::npos);
  for (const char* family :
       {"kvhost_instance_type_capacity", "kvhost_numa_node_free_dedicated_cpus",
        "kvhost_numa_node_hugepages_free_bytes", "kvhost_fragmentation_ratio"})
    EXPECT_EQ(text.find(family), std::string::npos) << family;
  ASSERT_TRUE(it::RunProcess({"/bin/sh", "-c", "command -v promtool"}).end.Exited(0))
      << "promtool missing (./dev deps installs it)";
  EXPECT_EQ(Promtool(text), "");
}

}  // namespace
}  // namespace kvhost::publish
