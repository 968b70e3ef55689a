// The last qualification in the labels and metrics: the worst latency it
// measured, per CPU in seconds, and when the host last qualified.
#include <gtest/gtest.h>

#include "agent/publish/metrics.h"
#include "agent/publish/nfd_labels.h"
#include "agent/qualify/history.h"
#include "damaged_root_support.h"
#include "publish_support.h"

namespace kvhost {
namespace {

v1::NodeReport ReportWithQualification() {
  v1::QualificationHistory history;
  auto* passed = history.add_runs();
  passed->set_outcome(v1::QUALIFY_PASS);
  passed->set_qualifying(true);
  passed->set_started_unix(1700000000);
  passed->set_max_latency_us(11.2);
  passed->add_cpus()->set_cpu(3);
  auto* cancelled = history.add_runs();  // measured nothing: not the last qualification
  cancelled->set_outcome(v1::QUALIFY_CANCELLED);
  cancelled->set_started_unix(1700000500);
  auto* failed = history.add_runs();
  failed->set_outcome(v1::QUALIFY_FAIL);
  failed->set_qualifying(true);
  failed->set_started_unix(1700000900);
  failed->set_max_latency_us(24.5);
  for (const auto& [cpu, max] : {std::pair{3u, 19.0}, std::pair{7u, 24.5}}) {
    auto* result = failed->add_cpus();
    result->set_cpu(cpu);
    result->set_max_us(max);
  }
  v1::NodeReport report =
      testing::MakeNodeReport(DiscoverHost(testing::FixturesDir() / kPmemIsolated));
  *report.mutable_last_qualification() = *qualify::LastMeasuredRun(history);
  report.set_last_qualified_unix(qualify::LastQualifiedUnix(history));
  return report;
}

TEST(QualifyPublish, LabelsCarryTheWorstLatencyAndTheLastQualifiedTime) {
  const publish::Labels labels = publish::BuildNodeLabels(ReportWithQualification(), {});
  EXPECT_EQ(labels.at("kvhost.cozystack.io/rt-max-latency-us"), "25");
  EXPECT_EQ(labels.at("kvhost.cozystack.io/rt-last-qualified"), "1700000000");
  EXPECT_EQ(publish::BuildNodeLabels(
                testing::MakeNodeReport(DiscoverHost(testing::FixturesDir() / kPmemIsolated)), {})
                .count("kvhost.cozystack.io/rt-max-latency-us"),
            0u);
}

TEST(QualifyPublish, MetricsGiveEachCpusMaxLatencyInSeconds) {
  const std::string text = publish::FormatMetrics(ReportWithQualification());
  EXPECT_NE(text.find("kvhost_rt_max_latency_seconds{cpu=\"3\"} 1.9e-05"), std::string::npos)
      << text;
  EXPECT_NE(text.find("kvhost_rt_max_latency_seconds{cpu=\"7\"} 2.45e-05"), std::string::npos)
      << text;
  EXPECT_NE(text.find("kvhost_rt_last_qualified_timestamp_seconds 1700000000"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace kvhost
