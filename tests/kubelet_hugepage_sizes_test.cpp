// Hugepage sizes by kubelet's resource names, both ways (base/sizes.h:
// HugepageResourceName, HugepageSizeKib), on the pools of the one fixture
// with more than x86's two sizes: hwloc-128arm-2pa2n8cluster4co, an arm64
// host with 64Ki, 2Mi, 32Mi and 1Gi pools on each of its 4 NUMA nodes (all
// empty as dumped; the copy here gives the 64Ki and 32Mi pools 1Gi a node).
// kubelet mode reads the pages of a pod's memory-manager block back from the
// block's resource name: a 32Mi block was once read as 2Mi pages and a 64Ki
// block dropped, so the allocator's books held the wrong pool.
#include <gtest/gtest.h>

#include <set>

#include "agent/allocator/allocator.h"
#include "agent/host/discover.h"
#include "agent/kubelet/kubelet_alignment.h"
#include "agent/live/kubelet_live.h"
#include "agent/live/live_host.h"
#include "base/sizes.h"
#include "damaged_root_support.h"

namespace kvhost {
namespace {

constexpr const char* kArm = "hwloc-128arm-2pa2n8cluster4co";
constexpr uint64_t k64KiPage = 64, k32MiPage = 32 * 1024;

TEST(HugepageNames, KubernetesSpellingsBothWays) {
  const std::pair<uint64_t, const char*> sizes[] = {{64, "hugepages-64Ki"},
                                                    {2048, "hugepages-2Mi"},
                                                    {32768, "hugepages-32Mi"},
                                                    {1048576, "hugepages-1Gi"},
                                                    {16ull << 20, "hugepages-16Gi"}};
  for (const auto& [kib, name] : sizes) {
    EXPECT_EQ(HugepageResourceName(kib), name);
    EXPECT_EQ(HugepageSizeKib(name), kib) << name;
  }
  for (const char* other :
       {"memory", "cpu", "hugepages-", "hugepages-2048Ki", "hugepages-02Mi", "hugepages-2M",
        "hugepages-2Mi ", "hugepages-0Ki", "hugepages-1.5Gi", "hugepages--2Mi",
        "hugepages-99999999999999999999Pi", "hugepages-16777216Pi"})
    EXPECT_EQ(HugepageSizeKib(other), std::nullopt) << other;
}

TEST(HugepageNames, EveryPoolOfTheArmFixtureReadsBackAsItself) {
  const HostModel host = DiscoverHost(FixturesDir() / kArm);
  std::set<uint64_t> sizes;
  for (const auto& [node, pools] : host.hugepages.per_node)
    for (const auto& pool : pools) sizes.insert(pool.size_kib);
  EXPECT_EQ(sizes, (std::set<uint64_t>{k64KiPage, 2048, k32MiPage, 1048576}));
  for (uint64_t kib : sizes) EXPECT_EQ(HugepageSizeKib(HugepageResourceName(kib)), kib);
}

// The arm fixture with 1Gi of 64Ki and of 32Mi pages on each node, and the
// kubelet config the agent's defaults ask for.
struct ArmWithPages {
  TempDir tmp;
  fs::path root;
  ArmWithPages() : root(CopyFixture(kArm, tmp)) {
    constexpr unsigned kNodes = 4;
    for (const uint64_t page : {k64KiPage, k32MiPage}) {
      const std::string pool = "hugepages-" + std::to_string(page) + "kB/";
      const std::string pages = std::to_string((1ull << 20) / page) + "\n";
      for (unsigned node = 0; node < kNodes; ++node) {
        const fs::path dir =
            root / ("sys/devices/system/node/node" + std::to_string(node) + "/hugepages/" + pool);
        WriteFile(dir / "nr_hugepages", pages);
        WriteFile(dir / "free_hugepages", pages);
      }
      const std::string all = std::to_string(kNodes * (1ull << 20) / page) + "\n";
      WriteFile(root / "sys/kernel/mm/hugepages" / pool / "nr_hugepages", all);
      WriteFile(root / "sys/kernel/mm/hugepages" / pool / "free_hugepages", all);
    }
    const HostModel host = DiscoverHost(root);
    const AgentConfig defaults;
    fs::create_directories(root / "var/lib/kubelet");
    WriteFile(root / "var/lib/kubelet/config.yaml",
              kubelet::KubeletConfigFragment(
                  AgentIntentFor(BuildHostResources(host, defaults), host, defaults)));
  }
  Allocator Load() const {
    AgentConfig config;
    config.placement = PlacementSetting::kKubelet;
    return LoadLiveHost({.root = root,
                         .state_dir = tmp.path() / "none",
                         .config = config,
                         .kubelet_config = {},
                         .running = {}})
        .allocator;
  }
};

InstanceType DedicatedOnPages(uint64_t page_kib) {
  InstanceType t;
  t.name = "d2-" + std::to_string(page_kib) + "k";
  t.vcpus = 2;
  t.memory_kib = 512 * 1024;
  t.cpu = CpuPolicy::kDedicated;
  t.hugepage_size_kib = page_kib;
  return t;
}

TEST(KubeletHugepages, APodOn32MiOr64KiPagesIsBookedOnThosePages) {
  const ArmWithPages host;
  for (const uint64_t page : {k32MiPage, k64KiPage}) {
    SCOPED_TRACE(HugepageResourceName(page));
    Allocator state = host.Load();
    const PlaceResult r = state.Place(DedicatedOnPages(page), "vm");
    ASSERT_TRUE(r.placement) << (r.reasons.empty() ? "" : r.reasons.front());
    ASSERT_EQ(r.placement->hugepages.size(), 1u);
    const HugepageGrant grant = r.placement->hugepages.front();
    EXPECT_EQ(grant.size_kib, page);
    EXPECT_EQ(grant.pages, 512 * 1024 / page);
    EXPECT_EQ(r.placement->memory_kib, 0u);  // the pages back all of it
    const auto node = static_cast<size_t>(state.host().NodeIndex(grant.node));
    const uint64_t free_before = state.FreeHugepages(node, page);
    state.Commit(*r.placement);
    EXPECT_EQ(state.FreeHugepages(node, page), free_before - grant.pages);
  }
}

}  // namespace
}  // namespace kvhost
