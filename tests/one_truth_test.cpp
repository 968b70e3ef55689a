// One truth: every publisher, one-shot or daemon, in both placement modes,
// says what `capacity` computes for the placement owner now. On every fixture
// in agent mode, kubelet mode with no pod and kubelet mode with dedicated pods
// on one node: the features file `run` writes equals `labels`, whose capacity
// values are the buckets of `capacity -o json`, and the NRT `run` writes
// equals `nrt`. Real binary, real files, libvirt's test:/// driver.
#include <gtest/gtest.h>

#include "agent/publish/feature_file.h"
#include "agent/publish/nfd_labels.h"
#include "allocator_support.h"
#include "one_truth_support.h"

namespace kvhost::it {
namespace {

constexpr char kPrefix[] = "kvhost.cozystack.io/";

// Every capacity label is the bucket of the count `capacity -o json` gives.
void ExpectBucketsOfCapacity(const OneTruthHost& host, const std::string& labels_text) {
  const v1::CapacityReport capacity = CapacityOf(host.OneShot("capacity", {"-o", "json"}));
  const auto labels = publish::ParseFeatureFile(labels_text, publish::Clock::now()).labels;
  ASSERT_GT(capacity.instance_types_size(), 0);
  for (const auto& t : capacity.instance_types()) {
    const auto it = labels.find(std::string(kPrefix) + "capacity." + t.name());
    ASSERT_NE(it, labels.end()) << t.name();
    EXPECT_EQ(it->second, std::to_string(publish::CapacityBucket(t.count()))) << t.name();
  }
}

void CheckOneHost(const std::string& fixture, Mode mode) {
  SCOPED_TRACE(fixture + " in " + ModeName(mode) + " mode");
  const OneTruthHost host(fixture, mode);
  const RunResult labels = host.OneShot("labels", {"--node-name", "test-node"});
  const RunResult nrt = host.OneShot("nrt", {"--node-name", "test-node"});
  const bool known = labels.end.Exited(0);
  const ProcessEnd end = host.RunDaemonOnce(known);
  EXPECT_TRUE(end.Exited(0)) << end.Describe() << host.DaemonLog();
  const std::string written = WithoutExpiry(ReadFile(host.features()));
  if (!known) {
    // The one-shot refuses the host (a kubelet file it cannot use): the
    // daemon then publishes no number either, and no NRT.
    EXPECT_NE(written.find(std::string(kPrefix) + "capacity-known=false"), std::string::npos)
        << written << labels.Describe();
    EXPECT_EQ(written.find(std::string(kPrefix) + "capacity."), std::string::npos) << written;
    EXPECT_FALSE(fs::exists(host.nrt()));
    return;
  }
  EXPECT_EQ(written, WithoutExpiry(labels.out));
  EXPECT_NE(written.find(std::string(kPrefix) +
                         "placement-owner=" + (mode == Mode::kAgent ? "agent" : "kubelet")),
            std::string::npos)
      << written;
  ExpectBucketsOfCapacity(host, labels.out);
  ASSERT_TRUE(nrt.end.Exited(0)) << nrt.Describe();
  EXPECT_EQ(ReadFile(host.nrt()), nrt.out);
}

class OneTruth : public ::testing::TestWithParam<Mode> {};

TEST_P(OneTruth, EveryFixtureDaemonFilesEqualTheOneShotAnswers) {
  for (const auto& fixture : testing::FixtureNames()) CheckOneHost(fixture, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Modes, OneTruth,
                         ::testing::Values(Mode::kAgent, Mode::kKubeletEmpty, Mode::kKubeletBusy),
                         [](const auto& info) {
                           std::string name = ModeName(info.param);
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace kvhost::it
