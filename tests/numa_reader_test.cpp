// SLIT rows whose columns are not one per online node. The kernel prints one
// distance per online node, but a dump edited to take a node offline (hwloc's
// offline-cpu0-node0 test) keeps a column for every possible node. Such a row
// is read against node/possible, or dropped with a warning; a row that fits
// neither reading is still an error naming the file.
#include "numa/numa_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "agent/host/discover.h"
#include "base/sysfs_root.h"
#include "tests/damaged_root_support.h"

namespace kvhost {
namespace {

// Four nodes whose rows are all different, so a row read from the wrong
// columns shows: node0 "10 16 32 33", node1 "16 10 25 32", node2 "32 25 10 16",
// node3 "33 32 16 10"; node/online and node/possible are both 0-3.
constexpr const char* kFourDistinctNodes = "hwloc-128arm-2pa2n8cluster4co";
constexpr const char* kNodeDir = "sys/devices/system/node";

// A root holding only the machine's node directory: all the reader needs.
fs::path CopyNodeDir(const std::string& machine, const TempDir& into) {
  const fs::path root = into.path() / machine;
  fs::create_directories(root / kNodeDir);
  fs::copy(FixturesDir() / machine / kNodeDir, root / kNodeDir, fs::copy_options::recursive);
  return root;
}

// node0 gone from sysfs as the kernel shows an offline node; the other rows
// keep their four columns, as in hwloc's offline-cpu0-node0 dump.
void TakeNodeZeroOffline(const fs::path& root) {
  fs::remove_all(root / kNodeDir / "node0");
  WriteFile(root / kNodeDir / "online", "1-3\n");
}

// The node set hwloc gives the reader for the nodes that still have directories.
std::vector<HwlocNumaNode> HwlocNodesOf(const SysfsRoot& root) {
  std::vector<HwlocNumaNode> nodes;
  for (unsigned id : root.ListNumbered(kNodeDir, "node")) {
    const std::string cpulist = std::string(kNodeDir) + "/node" + std::to_string(id) + "/cpulist";
    nodes.push_back({.id = id, .memory_kib = 0, .cpus = *root.ReadCpuListOptional(cpulist)});
  }
  return nodes;
}

NumaTopology Read(const fs::path& root_dir, std::vector<std::string>& warnings) {
  const SysfsRoot root(root_dir);
  return ReadNumaTopology(root, HwlocNodesOf(root), CpuSet::Range(0, 127), warnings);
}

bool SomeWarningNames(const std::vector<std::string>& warnings, const fs::path& file) {
  for (const auto& w : warnings)
    if (w.find(file.string()) != std::string::npos) return true;
  return false;
}

TEST(NumaReader, ReadsADistanceRowAgainstPossibleNodesWhenNodeZeroIsOffline) {
  TempDir tmp;
  const fs::path root = CopyNodeDir(kFourDistinctNodes, tmp);
  TakeNodeZeroOffline(root);
  std::vector<std::string> warnings;
  const NumaTopology topo = Read(root, warnings);
  ASSERT_EQ(topo.nodes.size(), 3u);
  // Each row keeps the columns of the online nodes 1-3, in id order.
  EXPECT_EQ(topo.nodes[0].distances, (std::vector<unsigned>{10, 25, 32}));
  EXPECT_EQ(topo.nodes[1].distances, (std::vector<unsigned>{25, 10, 16}));
  EXPECT_EQ(topo.nodes[2].distances, (std::vector<unsigned>{32, 16, 10}));
  EXPECT_EQ(topo.Distance(1, 3), 32u);
  EXPECT_EQ(topo.Distance(3, 2), 16u);
  EXPECT_TRUE(SomeWarningNames(warnings, root / kNodeDir / "node1/distance"));
}

TEST(NumaReader, ReadsADistanceRowAgainstTheCpuNodeLinksWithoutNodePossible) {
  TempDir tmp;
  const fs::path root = CopyNodeDir(kFourDistinctNodes, tmp);
  TakeNodeZeroOffline(root);
  fs::remove(root / kNodeDir / "possible");
  // The cpuN/nodeM entries still name node0, as they do in hwloc's dump.
  fs::create_directories(root / "sys/devices/system/cpu/cpu0");
  WriteFile(root / "sys/devices/system/cpu/cpu0/node0", "../../node/node0");
  std::vector<std::string> warnings;
  const NumaTopology topo = Read(root, warnings);
  ASSERT_EQ(topo.nodes.size(), 3u);
  EXPECT_EQ(topo.nodes[1].distances, (std::vector<unsigned>{25, 10, 16}));
}

TEST(NumaReader, DropsADistanceRowWithAWarningWhenAnOnlineNodeIsNotAPossibleOne) {
  TempDir tmp;
  const fs::path root = CopyNodeDir(kFourDistinctNodes, tmp);
  // Five columns for five possible nodes, but online node 3 is not among them.
  WriteFile(root / kNodeDir / "possible", "0-2,5-6\n");
  const fs::path row = root / kNodeDir / "node3/distance";
  WriteFile(row, "33 32 16 10 20\n");
  std::vector<std::string> warnings;
  const NumaTopology topo = Read(root, warnings);
  ASSERT_EQ(topo.nodes.size(), 4u);
  EXPECT_TRUE(topo.nodes[3].distances.empty());
  EXPECT_EQ(topo.nodes[2].distances, (std::vector<unsigned>{32, 25, 10, 16}));
  EXPECT_TRUE(SomeWarningNames(warnings, row));
}

TEST(NumaReader, ADistanceRowThatFitsNeitherTheOnlineNorThePossibleNodesIsAnErrorNamingTheFile) {
  TempDir tmp;
  const fs::path root = CopyNodeDir(kFourDistinctNodes, tmp);
  TakeNodeZeroOffline(root);
  const fs::path row = root / kNodeDir / "node2/distance";
  WriteFile(row, "32 25 10 16 40\n");
  std::vector<std::string> warnings;
  try {
    Read(root, warnings);
    ADD_FAILURE() << "a five-column row was accepted for 3 online and 4 possible nodes";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), row);
    EXPECT_NE(std::string(e.what()).find("5 distances for 3 nodes"), std::string::npos) << e.what();
  }
}

TEST(NumaReader, DiscoveryKeepsAHostWhoseNodeZeroIsOffline) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  fs::remove_all(root / kNodeDir / "node0");
  WriteFile(root / kNodeDir / "online", "1\n");
  // node1/distance is still "21 10", for the possible nodes 0-1.
  const HostModel host = DiscoverHost(root);
  ASSERT_EQ(host.numa.nodes.size(), 1u);
  EXPECT_EQ(host.numa.nodes[0].id, 1u);
  EXPECT_EQ(host.numa.nodes[0].distances, (std::vector<unsigned>{10}));
}

}  // namespace
}  // namespace kvhost
