// The running daemon fed bad input while it runs: hugepage counts discovery
// refuses. The real binary on a copied fixture root, test:///, HTTP.
#include <gtest/gtest.h>

#include "agent/publish/feature_file.h"
#include "daemon_fault_support.h"

namespace kvhost::it {
namespace {

publish::Labels LabelsIn(const fs::path& file) {
  return publish::ParseFeatureFile(ReadFile(file), publish::Clock::now()).labels;
}

constexpr char kNode0Free[] =
    "kvhost_numa_node_hugepages_free_bytes{numa_node=\"0\",page_size_bytes=\"2097152\"}";

// Each as `inspect` refuses it on the same root: written over node0's
// free_hugepages (nullptr: the file deleted), and the reason both give.
struct BadCount {
  const char* text;
  const char* reason;
};
const BadCount kBadCounts[] = {
    {"99999999999999\n", "99999999999999 free pages exceed the pool's 512 + 0 surplus"},
    {"600\n", "600 free pages exceed the pool's 512 + 0 surplus"},
    {nullptr, "missing"},
};

TEST_F(DaemonFaultTest, HugepageCountsDiscoveryRefusesAreRefusedAtRefreshAndTheLastReportStays) {
  auto daemon = Start();
  const std::string before = Metric(kNode0Free);
  ASSERT_EQ(before, "1073741824") << "512 pages of 2 MiB\n" << Log();
  const auto labels = LabelsIn(features());
  const fs::path file = pool(0) / "free_hugepages";
  for (const BadCount& bad : kBadCounts) {
    if (bad.text)
      WriteText(file, bad.text);
    else
      fs::remove(file);
    const auto inspect = Cli({"inspect", "--root", root().string()});
    EXPECT_TRUE(inspect.end.Exited(1)) << inspect.Describe();
    const std::string message = file.string() + ": " + bad.reason;
    EXPECT_NE(inspect.err.find(message), npos) << inspect.Describe();
    EXPECT_TRUE(Logged("refresh: " + message)) << Log();
    EXPECT_EQ(Metric(kNode0Free), before) << "the last good model is kept";
    EXPECT_EQ(LabelsIn(features()), labels) << "labels unchanged";
    EXPECT_TRUE(Healthy());
  }
  WriteText(file, "256\n");
  EXPECT_TRUE(WaitUntil([&] { return Metric(kNode0Free) == "536870912"; }, 5s))
      << "a good count is read again\n"
      << Log();
}

}  // namespace
}  // namespace kvhost::it
