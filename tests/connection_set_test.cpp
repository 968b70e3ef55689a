// The connection set: per-pod virtqemud sockets found by glob become session
// URIs, pods that leave take their connection with them, and a URI that cannot
// be opened is retried with backoff rather than on every tick.
#include "agent/libvirt/connection_set.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kvhost {
namespace {

namespace fs = std::filesystem;

class ConnectionSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pods = fs::temp_directory_path() / ("kvhost-pods-" + std::to_string(::getpid()));
    fs::remove_all(pods);
    for (const char* pod : {"pod-a", "pod-b"}) {
      fs::create_directories(pods / pod / "libvirt-runtime");
      std::ofstream(pods / pod / "libvirt-runtime" / "virtqemud-sock");  // stands in for the socket
    }
  }
  void TearDown() override { fs::remove_all(pods); }
  std::string Glob() const { return (pods / "*" / "libvirt-runtime" / "virtqemud-sock").string(); }
  fs::path pods;
};

TEST_F(ConnectionSetTest, EveryPodSocketBecomesASessionUri) {
  ConnectionSet set({"qemu:///system"}, Glob());
  const auto uris = set.WantedUris();
  ASSERT_EQ(uris.size(), 3u);
  EXPECT_EQ(uris[0], "qemu:///system");
  EXPECT_EQ(uris[1], "qemu+unix:///session?socket=" +
                         (pods / "pod-a/libvirt-runtime/virtqemud-sock").string());
  fs::remove_all(pods / "pod-a");  // the pod left
  EXPECT_EQ(set.WantedUris().size(), 2u);
}

TEST_F(ConnectionSetTest, AFailedOpenIsRetriedWithGrowingBackoff) {
  // A test:/// URI whose node file does not exist fails at once.
  ConnectionSet set({"test:///nonexistent/kvhost-node.xml"}, std::nullopt);
  using std::chrono::milliseconds;
  const auto t = ConnectionSet::Clock::now();
  auto tried = [&](milliseconds at) { return set.Refresh(t + at, nullptr).failed.size(); };
  EXPECT_EQ(tried(milliseconds(0)), 1u);
  EXPECT_EQ(tried(milliseconds(100)), 0u) << "within the first 0.5 s nothing is tried again";
  EXPECT_EQ(tried(milliseconds(600)), 1u);
  EXPECT_EQ(tried(milliseconds(1200)), 0u) << "the delay doubled to 1 s";
  EXPECT_EQ(tried(milliseconds(1700)), 1u);
  EXPECT_EQ(tried(milliseconds(3000)), 0u) << "then 2 s";
  EXPECT_EQ(tried(milliseconds(3800)), 1u);
  EXPECT_TRUE(set.Open().empty());
}

TEST_F(ConnectionSetTest, AnOpenConnectionIsKeptAndAGoneOneClosed) {
  const char* source = std::getenv("KVHOST_SOURCE_DIR");
  const std::string uri =
      std::string("test://") + (source ? source : ".") + "/tests/data/libvirt/pinner-node.xml";
  ConnectionSet set({uri}, std::nullopt);
  const auto first = set.Refresh(ConnectionSet::Clock::now(), nullptr);
  ASSERT_EQ(first.opened.size(), 1u);
  EXPECT_TRUE(set.Refresh(ConnectionSet::Clock::now(), nullptr).opened.empty())
      << "kept, not reopened";
  EXPECT_EQ(set.Open().size(), 1u);
}

}  // namespace
}  // namespace kvhost
