// The daemon's refresh on copied fixture roots: what moves (hugepage counts,
// the kernel's isolated CPUs, the online list) is seen; a refresh that reads
// the same facts says so, so the daemon recounts nothing.
#include "agent/host/host_refresh.h"

#include <gtest/gtest.h>

#include "agent/host/discover.h"
#include "base/errors.h"
#include "damaged_root_support.h"

namespace kvhost {
namespace {

const fs::path kNode0Pool2Mi = "sys/devices/system/node/node0/hugepages/hugepages-2048kB";

TEST(HostRefresh, SameFactsReadAsUnchangedAndLeaveTheModelAlone) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  const HugepageInventory before = host.hugepages;
  EXPECT_EQ(RefreshVolatileFacts(host), HostRefresh::kUnchanged);
  EXPECT_EQ(host.hugepages, before);
}

TEST(HostRefresh, AFreeHugepageCountThatMovedIsReadIntoTheModel) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  ASSERT_NE(host.hugepages.NodePool(0, 2048), nullptr);
  EXPECT_EQ(host.hugepages.NodePool(0, 2048)->free, 2048u);
  WriteFile(root / kNode0Pool2Mi / "free_hugepages", "1000\n");
  EXPECT_EQ(RefreshVolatileFacts(host), HostRefresh::kChanged);
  EXPECT_EQ(host.hugepages.NodePool(0, 2048)->free, 1000u);
  EXPECT_EQ(host.hugepages.NodePool(0, 2048)->total, 2048u);
  EXPECT_EQ(RefreshVolatileFacts(host), HostRefresh::kUnchanged) << "nothing moved since";
}

TEST(HostRefresh, TheGlobalReservedCountMovesToo) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  WriteFile(root / "sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "7\n");
  EXPECT_EQ(RefreshVolatileFacts(host), HostRefresh::kChanged);
  ASSERT_FALSE(host.hugepages.global.empty());
  EXPECT_EQ(host.hugepages.global.front().reserved, 7u);
}

TEST(HostRefresh, KernelIsolatedCpusThatChangedAreReadWithTheirRealtimeFact) {
  TempDir dir;
  const fs::path root = CopyFixture(kPmemIsolated, dir);
  HostModel host = DiscoverHost(root);
  EXPECT_EQ(host.isolation.isolated.ToList(), "4-7,60-63");
  WriteFile(root / "sys/devices/system/cpu/isolated", "4-9,60-63\n");
  EXPECT_EQ(RefreshVolatileFacts(host), HostRefresh::kChanged);
  EXPECT_EQ(host.isolation.isolated.ToList(), "4-9,60-63");
  EXPECT_EQ(host.realtime.isolated_cpus.value, "4-9,60-63");
}

TEST(HostRefresh, AChangedOnlineListAsksForARediscoveryAndTouchesNothing) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  WriteFile(root / kNode0Pool2Mi / "free_hugepages", "1000\n");
  WriteFile(root / "sys/devices/system/cpu/online", "0-30\n");
  EXPECT_EQ(RefreshVolatileFacts(host), HostRefresh::kHotplug);
  EXPECT_EQ(host.hugepages.NodePool(0, 2048)->free, 2048u);
}

// Memory hotplug changes no CPU: a node's memory that grew (or a node that
// came with memory alone) asks for a rediscovery too, and says what moved.
TEST(HostRefresh, ANodeGainingMemoryWithoutACpuChangeAsksForARediscovery) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  const fs::path meminfo = root / "sys/devices/system/node/node1/meminfo";
  std::string text = ReadFile(meminfo);
  text.replace(text.find("49519964"), 8, "99519964");
  WriteFile(meminfo, text);
  std::string why;
  EXPECT_EQ(RefreshVolatileFacts(host, &why), HostRefresh::kHotplug);
  EXPECT_EQ(why, "node1 memory 99519964 kB (was 49519964 kB)");
  EXPECT_EQ(host.numa.Find(1)->memory_kib, 49519964u) << "the model is untouched";
  HostModel again = DiscoverHost(root);
  EXPECT_EQ(again.numa.Find(1)->memory_kib, 99519964u);
  EXPECT_EQ(RefreshVolatileFacts(again), HostRefresh::kUnchanged);
}

TEST(HostRefresh, AMemoryOnlyNodeComingOnlineAsksForARediscovery) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  const fs::path node2 = root / "sys/devices/system/node/node2";
  fs::create_directories(node2);
  WriteFile(node2 / "meminfo", "Node 2 MemTotal:       8388608 kB\n");
  WriteFile(node2 / "cpulist", "\n");
  std::string why;
  EXPECT_EQ(RefreshVolatileFacts(host, &why), HostRefresh::kHotplug);
  EXPECT_EQ(why, "NUMA nodes 0-2 (were 0-1)");
}

TEST(HostRefresh, AMalformedCountNamesTheFileAndKeepsTheModel) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  WriteFile(root / kNode0Pool2Mi / "nr_hugepages", "lots\n");
  try {
    RefreshVolatileFacts(host);
    ADD_FAILURE() << "a malformed count was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("node0/hugepages/hugepages-2048kB/nr_hugepages"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(host.hugepages.NodePool(0, 2048)->total, 2048u);
}

// Refresh reads through discovery's checks: a count discovery refuses is
// refused here too, naming the file, and the last good model stays.
void ExpectRefreshRefuses(HostModel& host, const std::string& file, const std::string& reason) {
  const HugepageInventory before = host.hugepages;
  try {
    RefreshVolatileFacts(host);
    ADD_FAILURE() << "refresh accepted " << file;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
  EXPECT_EQ(host.hugepages, before);
}

TEST(HostRefresh, APoolBeyondTheNodesMemoryIsRefusedAsDiscoveryRefusesIt) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  WriteFile(root / kNode0Pool2Mi / "nr_hugepages", "99999999999999\n");
  EXPECT_THROW(DiscoverHost(root), InputError);
  ExpectRefreshRefuses(host, "node0/hugepages/hugepages-2048kB/nr_hugepages",
                       "do not fit in the node's MemTotal");
}

TEST(HostRefresh, AnOverflowingFreeCountIsRefusedAsDiscoveryRefusesIt) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  WriteFile(root / kNode0Pool2Mi / "free_hugepages", "99999999999999\n");
  EXPECT_THROW(DiscoverHost(root), InputError);
  ExpectRefreshRefuses(host, "node0/hugepages/hugepages-2048kB/free_hugepages",
                       "99999999999999 free pages exceed the pool's 2048 + 0 surplus");
}

TEST(HostRefresh, MoreFreePagesThanThePoolHoldsAreRefusedAsDiscoveryRefusesThem) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  WriteFile(root / kNode0Pool2Mi / "free_hugepages", "2049\n");
  EXPECT_THROW(DiscoverHost(root), InputError);
  ExpectRefreshRefuses(host, "node0/hugepages/hugepages-2048kB/free_hugepages",
                       "2049 free pages exceed the pool's 2048 + 0 surplus");
}

TEST(HostRefresh, ADeletedCountIsRefusedNotReadAsZero) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  fs::remove(root / kNode0Pool2Mi / "free_hugepages");
  EXPECT_THROW(DiscoverHost(root), InputError);
  ExpectRefreshRefuses(host, "node0/hugepages/hugepages-2048kB/free_hugepages", "missing");
}

TEST(HostRefresh, AGoodCountAfterARefusedOneIsReadAgain) {
  TempDir dir;
  const fs::path root = CopyFixture(kIntelHugepages, dir);
  HostModel host = DiscoverHost(root);
  WriteFile(root / kNode0Pool2Mi / "free_hugepages", "99999999999999\n");
  EXPECT_THROW(RefreshVolatileFacts(host), InputError);
  WriteFile(root / kNode0Pool2Mi / "free_hugepages", "1000\n");
  EXPECT_EQ(RefreshVolatileFacts(host), HostRefresh::kChanged);
  EXPECT_EQ(host.hugepages.NodePool(0, 2048)->free, 1000u);
}

}  // namespace
}  // namespace kvhost
