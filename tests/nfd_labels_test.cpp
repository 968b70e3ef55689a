// The NFD feature file: NFD's own local-source test cases (node-feature-discovery
// source/local/local_test.go and testdata/features.d at commit
// 76e6cc8cc0d54b8bce037098b72611ffdf66ef5a) run against our port of its parser
// and directory rules, then our file, written for every fixture host, read back
// the same way.
#include "agent/publish/nfd_labels.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "agent/publish/feature_file_writer.h"
#include "agent/publish/label_validation.h"
#include "publish_support.h"

namespace kvhost::publish {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// local.go getFeaturesFromFiles + getFileContent: regular top-level files, not
// starting with '.', at most 64 KiB; later files override earlier ones.
ParsedFeatureFile ReadFeaturesDir(const fs::path& dir, Clock::time_point now) {
  ParsedFeatureFile all;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") || !entry.is_regular_file()) continue;
    if (entry.file_size() > kMaxFeatureFileSize) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    ParsedFeatureFile one = ParseFeatureFile(text.str(), now);
    all.labels.merge(one.labels);
    all.features.merge(one.features);
  }
  return all;
}

fs::path TempDir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("kvhost-nfd-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

TEST(NfdLocalSource, ReadsNfdTestdataLikeNfd) {
  const fs::path dir = TempDir("testdata");
  Write(dir / ".my.feature", "hiddenFeatureKey=hiddenFeatureValue\n");
  std::string big = "# +expiry-time=2080-07-28T11:22:33Z\nfeatureKeyValid2=featureValue\n";
  big.resize(70262, 'x');
  Write(dir / "big_file", big);
  Write(dir / "expired_feature",
        "# +expiry-time=2012-07-28T11:22:33Z\nfeatureKeyExpired=featureValue\n");
  Write(dir / "feature_with_comments", "# Notes: foo bar\nfeatureKeyRandomComment=featureValue\n");
  Write(
      dir / "features_with_labels",
      "# +no-feature\nlabel-only=value\n\n# +no-feature\nlabel-only-2=value\n\nmy-feature=value\n\n"
      "foo=bar\n# +no-label\nfoo=baz\n");
  Write(dir / "multiple_expiration_dates",
        "# +expiry-time=2012-07-28T11:22:33Z\nfeatureKey=featureValue\n\n"
        "# +expiry-time=2080-07-28T11:22:33Z\nfeatureKey2=featureValue2\n\n"
        "# +expiry-time=2070-07-28T11:22:33Z\nfeatureKey3=featureValue3\n\n"
        "# +expiry-time=2002-07-28T11:22:33Z\nfeatureKey4=featureValue4\n");
  Write(dir / "unparsable_expiry_comment",
        "# +expiry-time=2080-07-28T11:22:33X\nfeatureKeyUnparsable=featureValue\n");
  Write(dir / "valid_feature",
        "# +expiry-time=2080-07-28T11:22:33Z\nfeatureKeyValid=featureValue\n");

  const ParsedFeatureFile got = ReadFeaturesDir(dir, Clock::now());
  // TestGetExpirationDate: 7 features, 8 labels.
  EXPECT_EQ(got.features.size(), 7u);
  EXPECT_EQ(got.labels.size(), 8u);
  EXPECT_EQ(got.labels.count("hiddenFeatureKey"), 0u);
  EXPECT_EQ(got.labels.count("featureKeyValid2"), 0u);
  EXPECT_EQ(got.labels.count("featureKeyExpired"), 0u);
  EXPECT_EQ(got.labels.count("foo"), 0u);
  EXPECT_EQ(got.features.at("foo"), "baz");
  EXPECT_EQ(got.labels.count("label-only"), 1u);
  EXPECT_EQ(got.features.count("label-only"), 0u);
  EXPECT_EQ(got.labels.at("featureKey3"), "featureValue3");
  EXPECT_EQ(got.labels.count("featureKey4"), 0u);
  EXPECT_EQ(got.labels.count("featureKeyUnparsable"), 1u);
  fs::remove_all(dir);
}

TEST(NfdLocalSource, ParsesDirectivesLikeNfd) {
  // TestParseDirectives.
  EXPECT_TRUE(
      ParseFeatureFile("# +expiry-time=2080-07-28T11:22:33Z\n", Clock::now()).errors.empty());
  EXPECT_EQ(ParseFeatureFile("# +random-key=random-value\n", Clock::now()).errors.size(), 1u);
  EXPECT_EQ(ParseFeatureFile("# + Something\n", Clock::now()).errors.size(), 1u);
  EXPECT_EQ(ParseFeatureFile("bare-key\n", Clock::now()).labels.at("bare-key"), "true");
  EXPECT_EQ(*ParseRfc3339("2080-07-28T13:22:33+02:00"), *ParseRfc3339("2080-07-28T11:22:33Z"));
}

TEST(NfdFeatureFile, EveryFixtureHostPublishesValidLabelsNfdReadsBack) {
  const fs::path dir = TempDir("fixtures");
  for (const auto& name : testing::FixtureNames()) {
    const HostModel host = testing::LoadFixture(name);
    const Labels labels = BuildNodeLabels(testing::MakeNodeReport(host), {});
    const auto now = Clock::now();
    FeatureFileWriter writer({.path = dir / "kvhost-agent"});
    ASSERT_TRUE(writer.Publish(labels, now)) << name;
    EXPECT_LE(fs::file_size(dir / "kvhost-agent"), kMaxFeatureFileSize) << name;
    EXPECT_FALSE(fs::exists(dir / ".kvhost-agent.tmp")) << name;
    EXPECT_EQ(ReadFeaturesDir(dir, now).labels, labels) << name;
    for (const auto& [key, value] : labels) {
      EXPECT_TRUE(key.starts_with("kvhost.cozystack.io/")) << key;
      EXPECT_TRUE(IsQualifiedName(key).empty()) << key;
      EXPECT_TRUE(IsValidLabelValue(value).empty()) << key << "=" << value;
    }
    for (const char* key : {"realtime", "numa-nodes", "smt", "placement-owner", "cx1", "rt1"})
      EXPECT_EQ(labels.count(std::string("kvhost.cozystack.io/") + key), 1u) << name << " " << key;
    EXPECT_EQ(labels.at("kvhost.cozystack.io/numa-nodes"), std::to_string(host.numa.nodes.size()));
    // An agent that stops refreshing: NFD drops the labels once the expiry passes.
    EXPECT_TRUE(ReadFeaturesDir(dir, now + writer.options().expiry_window + 1s).labels.empty());
  }
  fs::remove_all(dir);
}

ino_t Inode(const fs::path& file) {
  struct stat st {};
  EXPECT_EQ(stat(file.c_str(), &st), 0);
  return st.st_ino;
}

TEST(NfdFeatureFile, RewritesOnlyOnChangeOrWhenHalfTheExpiryWindowIsGone) {
  const fs::path dir = TempDir("rewrite");
  const fs::path file = dir / "kvhost-agent";
  FeatureFileWriter writer({.path = file, .expiry_window = 60s});
  const auto t0 = Clock::now();
  Labels labels = {{"kvhost.cozystack.io/cx1", "true"}};
  ASSERT_TRUE(writer.Publish(labels, t0));
  const ino_t first = Inode(file);
  EXPECT_FALSE(writer.Publish(labels, t0 + 10s));
  EXPECT_FALSE(writer.Publish(labels, t0 + 29s));
  EXPECT_EQ(Inode(file), first);                  // untouched: no rename happened
  EXPECT_TRUE(writer.Publish(labels, t0 + 31s));  // 29 s left of 60: bumped
  EXPECT_NE(Inode(file), first);
  EXPECT_FALSE(writer.Publish(labels, t0 + 40s));
  labels["kvhost.cozystack.io/cx1"] = "false";
  EXPECT_TRUE(writer.Publish(labels, t0 + 41s));
  EXPECT_EQ(ReadFeaturesDir(dir, t0 + 41s).labels, labels);
  fs::remove_all(dir);
}

// A symlink at the path is never read through (its target is whatever root
// may read), even when the target holds exactly the labels: it is replaced.
TEST(NfdFeatureFile, ASymlinkAtThePathIsReplacedWithoutReadingItsTarget) {
  const fs::path dir = TempDir("symlink");
  const fs::path file = dir / "kvhost-agent", target = dir / "elsewhere";
  FeatureFileWriter writer({.path = file, .expiry_window = 60s});
  const auto t0 = Clock::now();
  const Labels labels = {{"kvhost.cozystack.io/cx1", "true"}};
  ASSERT_TRUE(writer.Publish(labels, t0));
  fs::rename(file, target);
  fs::create_symlink(target, file);
  const auto read = [](const fs::path& f) {
    std::ifstream in(f);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string kept = read(target);
  EXPECT_TRUE(writer.Publish(labels, t0 + 1s)) << "the link's target was taken for the file";
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(file)));
  EXPECT_EQ(read(target), kept);
  fs::remove_all(dir);
}

TEST(NfdFeatureFile, RefusesNamesAndFilesNfdWouldNotRead) {
  EXPECT_THROW(FeatureFileWriter({.path = "/tmp/.hidden"}), std::invalid_argument);
  const fs::path dir = TempDir("big");
  FeatureFileWriter writer({.path = dir / "kvhost-agent"});
  Labels many;
  for (int i = 0; i < 1200; ++i)
    many["kvhost.cozystack.io/label-" + std::to_string(i)] = std::string(40, 'v');
  EXPECT_THROW(writer.Publish(many, Clock::now()), std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir / "kvhost-agent"));
  fs::remove_all(dir);
}

TEST(NfdLabels, NeverUsesKubevirtOrKubernetesPrefixes) {
  const auto report = testing::MakeNodeReport(testing::LoadFixture("nri-desktop-10c20t"));
  EXPECT_THROW(BuildNodeLabels(report, {.prefix = "kubevirt.io/"}), std::invalid_argument);
  EXPECT_THROW(BuildNodeLabels(report, {.prefix = "node-labeller.kubevirt.io/"}),
               std::invalid_argument);
  EXPECT_THROW(BuildNodeLabels(report, {.prefix = "node.kubernetes.io/"}), std::invalid_argument);
  EXPECT_THROW(BuildNodeLabels(report, {.prefix = "Bad_Prefix/"}), std::invalid_argument);
  EXPECT_NO_THROW(BuildNodeLabels(report, {.prefix = "example.com/"}));
}

TEST(NfdLabels, CapacityCountsAreBucketedToLimitNodeChurn) {
  const unsigned expected[][2] = {{0, 0},  {1, 1},   {4, 4},   {5, 4},   {7, 4},    {8, 8},
                                  {15, 8}, {16, 16}, {63, 32}, {64, 64}, {1000, 64}};
  for (const auto& [count, bucket] : expected) EXPECT_EQ(CapacityBucket(count), bucket) << count;
}

TEST(NfdLabels, FollowPlacementsAndHugepages) {
  HostModel host = testing::LoadFixture("nri-desktop-10c20t");
  testing::ReserveHugepages(host, 1048576, 8);
  testing::ReserveHugepages(host, 2048, 4096);  // 8Gi: cx1 takes 2Mi pages
  Allocator state = testing::MakeAllocator(host);
  const Labels before = BuildNodeLabels(testing::MakeNodeReport(host, state), {});
  EXPECT_EQ(before.at("kvhost.cozystack.io/hugepages-1Gi.largest-free-block"), "8Gi");
  EXPECT_EQ(before.at("kvhost.cozystack.io/cx1"), "true");
  ASSERT_GT(testing::PlaceVms(state, "cx1.medium", 100), 0u);
  const Labels after = BuildNodeLabels(testing::MakeNodeReport(host, state), {});
  EXPECT_EQ(after.at("kvhost.cozystack.io/cx1"), "false");
  EXPECT_EQ(after.at("kvhost.cozystack.io/capacity.cx1.medium"), "0");
  EXPECT_EQ(after.at("kvhost.cozystack.io/hugepages-2Mi.largest-free-block"), "0");
  EXPECT_EQ(after.at("kvhost.cozystack.io/hugepages-1Gi.largest-free-block"), "8Gi");
}

TEST(NfdLabels, PlacementOwnerIsTheReportsOwner) {
  v1::NodeReport report = testing::MakeNodeReport(testing::LoadFixture("nri-desktop-10c20t"));
  report.mutable_placement()->set_owner("kubelet");
  EXPECT_EQ(BuildNodeLabels(report, {}).at("kvhost.cozystack.io/placement-owner"), "kubelet");
}

TEST(NfdLabels, UnknownCapacityWithdrawsEveryCapacityLabelAndSaysSo) {
  v1::NodeReport report = testing::MakeNodeReport(testing::LoadFixture("nri-desktop-10c20t"));
  report.set_capacity_unknown("/var/lib/kubelet/config.yaml: absent");
  const Labels labels = BuildNodeLabels(report, {});
  EXPECT_EQ(labels.at("kvhost.cozystack.io/capacity-known"), "false");
  for (const auto& [key, value] : labels) {
    EXPECT_EQ(key.find("capacity."), std::string::npos) << key;
    EXPECT_EQ(key.find("largest-free-block"), std::string::npos) << key;
    EXPECT_NE(key, "kvhost.cozystack.io/cx1");
  }
  EXPECT_EQ(labels.count("kvhost.cozystack.io/numa-nodes"), 1u);
}

}  // namespace
}  // namespace kvhost::publish
