// `run` in kubelet mode follows kubelet's files live: a pod kubelet admits
// (its CPU manager checkpoint rewritten atomically, with a valid checksum, as
// kubelet does) moves the labels, the NRT and /v1/report within a refresh to
// what the one-shot commands say; kubelet's config removed withdraws every
// capacity label and /readyz answers 503 naming the file; restored, the daemon
// recovers by itself. Real binary, real files, real sockets.
#include <gtest/gtest.h>

#include "agent/publish/feature_file.h"
#include "allocator_support.h"
#include "one_truth_support.h"
#include "publish.pb.h"

namespace kvhost::it {
namespace {

using namespace std::chrono_literals;

constexpr char kFixture[] = "hwloc-32intel64-2p8co2t-hugepages";

class KubeletDaemonLive : public ::testing::Test {
 protected:
  void SetUp() override {
    port = FreeLoopbackPort();
    std::string config = ReadFile(host.config());
    config.replace(config.find("apiListen: off"), 14,
                   "apiListen: 127.0.0.1:" + std::to_string(port));
    WriteText(host.config(), config);
    const std::string uri = "test://" + SourceDir() + "/tests/data/libvirt/empty-node.xml";
    daemon = std::make_unique<ChildProcess>(
        std::vector<std::string>{std::getenv("KVHOST_AGENT"), "run", "--root", host.root().string(),
                                 "--config", host.config().string(), "--state-dir",
                                 host.state().string(), "--connect", uri},
        std::vector<std::string>{}, host.root() / "../run.out", host.root() / "../run.err");
    ASSERT_TRUE(WaitUntil([&] { return fs::exists(host.features()); })) << Log();
  }

  std::string Log() const { return ReadFile(host.root() / "../run.err"); }
  std::string Written() const { return WithoutExpiry(ReadFile(host.features())); }
  std::string OneShotLabels() const {
    return WithoutExpiry(host.OneShot("labels", {"--node-name", "test-node"}).out);
  }
  // The daemon's files and report say what the one-shot commands say now.
  bool AgreesWithOneShot() const {
    const std::string answer = HttpGet(port, "/v1/report");
    v1::NodeReport report;
    const auto body = answer.find("\r\n\r\n");
    if (body == std::string::npos ||
        !google::protobuf::util::JsonStringToMessage(answer.substr(body + 4), &report).ok())
      return false;
    const v1::CapacityReport expected = CapacityOf(host.OneShot("capacity", {"-o", "json"}));
    if (report.capacity().instance_types_size() != expected.instance_types_size()) return false;
    for (int i = 0; i < expected.instance_types_size(); ++i)
      if (report.capacity().instance_types(i).count() != expected.instance_types(i).count())
        return false;
    return Written() == OneShotLabels() &&
           ReadFile(host.nrt()) == host.OneShot("nrt", {"--node-name", "test-node"}).out;
  }

  OneTruthHost host{kFixture, Mode::kKubeletEmpty};
  unsigned short port = 0;
  std::unique_ptr<ChildProcess> daemon;
};

TEST_F(KubeletDaemonLive, FollowsAnAdmittedPodAndWithdrawsCapacityWithoutKubeletsConfig) {
  ASSERT_TRUE(WaitUntil([&] { return AgreesWithOneShot(); })) << Log();
  const std::string empty_nrt = ReadFile(host.nrt());
  EXPECT_NE(HttpGet(port, "/readyz").find("200 OK"), std::string::npos);

  // kubelet admits dedicated pods: it rewrites its checkpoint atomically.
  const CpuSet reserved = BuildHostResources(DiscoverHost(host.root()), AgentConfig{}).reserved;
  const CpuSet handed = WriteBusyCheckpoint(host.root(), reserved);
  ASSERT_FALSE(handed.Empty());
  // Within a refresh (300 ms) and the test's polling: the NRT's available CPUs drop.
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(host.nrt()) != empty_nrt; }, 3s))
      << "the NRT did not follow kubelet's checkpoint\n"
      << Log();
  EXPECT_TRUE(WaitUntil([&] { return AgreesWithOneShot(); })) << Written() << Log();
  EXPECT_NE(HttpGet(port, "/v1/report").find("\"exclusiveCpus\": \"" + handed.ToList() + "\""),
            std::string::npos);
  EXPECT_NE(ReadFile(host.nrt()).find("topologyManagerPolicy"), std::string::npos);

  // kubelet's config gone: unknown, not the last numbers.
  const fs::path config = host.root() / "var/lib/kubelet/config.yaml";
  const std::string config_text = ReadFile(config);
  fs::remove(config);
  EXPECT_TRUE(WaitUntil([&] {
    return Written().find("kvhost.cozystack.io/capacity-known=false") != std::string::npos;
  })) << Written()
      << Log();
  EXPECT_EQ(Written().find("kvhost.cozystack.io/capacity."), std::string::npos) << Written();
  const std::string readyz = HttpGet(port, "/readyz");
  EXPECT_NE(readyz.find("503"), std::string::npos) << readyz;
  EXPECT_NE(readyz.find(config.string()), std::string::npos) << readyz;
  EXPECT_FALSE(fs::exists(host.nrt()));
  EXPECT_NE(HttpGet(port, "/metrics").find("kvhost_capacity_known 0"), std::string::npos);
  EXPECT_EQ(HttpGet(port, "/metrics").find("kvhost_instance_type_capacity{"), std::string::npos);
  EXPECT_NE(Log().find(config.string()), std::string::npos) << Log();

  // Restored: back by itself.
  WriteText(config, config_text);
  EXPECT_TRUE(WaitUntil([&] { return AgreesWithOneShot(); })) << Written() << Log();
  EXPECT_NE(HttpGet(port, "/readyz").find("200 OK"), std::string::npos);
}

}  // namespace
}  // namespace kvhost::it
