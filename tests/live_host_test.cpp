// agent/live: the one loader. Agent mode charges the host with what the state
// file says runs; a damaged state is an error (never an empty host); the
// placement owner follows the config and kubelet's CPU manager checkpoint.
#include "agent/live/live_host.h"

#include <gtest/gtest.h>

#include "agent/allocator/capacity.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_store.h"
#include "base/errors.h"
#include "damaged_root_support.h"
#include "publish_support.h"

namespace kvhost {
namespace {

unsigned Count(const Allocator& state, const std::string& type) {
  return CountFits(state, *testing::TestCatalog().Find(type)).count;
}

TEST(LiveHost, StateFileAllocationsAreTakenAndCapacityDropsByExactlyThem) {
  const kvhost::ScopedTempDir tmp;
  const auto root = kvhost::testing::FixturesDir() / kvhost::kIntelHugepages;
  const LiveHost empty =
      LoadLiveHost({.root = root, .state_dir = tmp.path() / "none", .config = {}});
  EXPECT_EQ(empty.owner.owner, PlacementOwner::kAgent);
  const unsigned before = Count(empty.allocator, "u1.large");
  ASSERT_GT(before, 2u);

  // Two VMs placed by the same allocator and saved as the daemon saves them.
  Allocator placing = empty.allocator;
  ASSERT_EQ(testing::PlaceVms(placing, "u1.large", 2), 2u);
  v1::AgentState saved;
  for (const auto& [vm, p] : placing.placements())
    *saved.add_allocations() = AllocationFromPlacement(p, vm, "test:///default");
  StateStore(tmp.path()).Save(saved);

  const LiveHost busy = LoadLiveHost({.root = root, .state_dir = tmp.path(), .config = {}});
  EXPECT_EQ(busy.allocator.placements().size(), 2u);
  EXPECT_EQ(Count(busy.allocator, "u1.large"), Count(placing, "u1.large"));
  EXPECT_LT(Count(busy.allocator, "u1.large"), before);
}

TEST(LiveHost, ADamagedStateFileIsAnErrorNamingItNotAnEmptyHost) {
  const kvhost::ScopedTempDir tmp;
  kvhost::WriteFile(tmp.path() / "state.pb", "not a state file");
  try {
    LoadLiveHost({.root = kvhost::testing::FixturesDir() / kvhost::kIntelHugepages,
                  .state_dir = tmp.path(),
                  .config = {}});
    FAIL() << "a damaged state file was taken as an empty host";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("state.pb"), std::string::npos) << e.what();
  }
}

TEST(LiveHost, OwnerFollowsConfigThenKubeletsCpuManagerPolicy) {
  const kvhost::ScopedTempDir tmp;
  const auto root = kvhost::CopyFixture(kvhost::kIntelHugepages, tmp);
  EXPECT_EQ(ChoosePlacementOwner(root, {}).owner, PlacementOwner::kAgent);
  AgentConfig kubelet_config;
  kubelet_config.placement = PlacementSetting::kKubelet;
  EXPECT_EQ(ChoosePlacementOwner(root, kubelet_config).owner, PlacementOwner::kKubelet);

  // A checkpoint kubelet's own tests ship (policy "none").
  const auto file = root / "var/lib/kubelet/cpu_manager_state";
  std::filesystem::create_directories(file.parent_path());
  kvhost::WriteFile(file, kvhost::ReadFile(std::filesystem::path(std::getenv("KVHOST_SOURCE_DIR")) /
                                           "tests/data/kubelet/checkpoints/cpu_manager_state.v1"));
  const OwnerChoice none = ChoosePlacementOwner(root, {});
  EXPECT_EQ(none.owner, PlacementOwner::kAgent) << none.why;
  EXPECT_NE(none.why.find("none"), std::string::npos) << none.why;
}

}  // namespace
}  // namespace kvhost
