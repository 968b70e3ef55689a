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

// The loader in agent mode with the default config, as the CLI calls it.
LiveHost Load(const std::filesystem::path& root, const std::filesystem::path& state_dir,
              std::optional<RunningDomains> running = std::nullopt) {
  return LoadLiveHost({.root = root,
                       .state_dir = state_dir,
                       .config = {},
                       .kubelet_config = {},
                       .running = std::move(running)});
}

unsigned Count(const Allocator& state, const std::string& type) {
  return CountFits(state, *testing::TestCatalog().Find(type)).count;
}

TEST(LiveHost, StateFileAllocationsAreTakenAndCapacityDropsByExactlyThem) {
  const kvhost::TempDir tmp;
  const auto root = kvhost::testing::FixturesDir() / kvhost::kIntelHugepages;
  const LiveHost empty = Load(root, tmp.path() / "none");
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

  const LiveHost busy = Load(root, tmp.path());
  EXPECT_EQ(busy.allocator.placements().size(), 2u);
  EXPECT_EQ(Count(busy.allocator, "u1.large"), Count(placing, "u1.large"));
  EXPECT_LT(Count(busy.allocator, "u1.large"), before);
}

TEST(LiveHost, ADamagedStateFileIsAnErrorNamingItNotAnEmptyHost) {
  const kvhost::TempDir tmp;
  kvhost::WriteFile(tmp.path() / "state.pb", "not a state file");
  try {
    Load(kvhost::testing::FixturesDir() / kvhost::kIntelHugepages, tmp.path());
    FAIL() << "a damaged state file was taken as an empty host";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("state.pb"), std::string::npos) << e.what();
  }
}

TEST(LiveHost, OwnerFollowsConfigThenKubeletsCpuManagerPolicy) {
  const kvhost::TempDir tmp;
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

// One cx1.medium (1 vCPU + emulator, 2Gi of 2Mi pages: half a node's pool)
// placed by the allocator on the pristine fixture, keyed by `uuid`.
Placement OneCx1Medium(const Allocator& empty, const std::string& uuid) {
  PlaceResult placed = empty.Place(*testing::TestCatalog().Find("cx1.medium"), uuid);
  EXPECT_TRUE(placed.placement);
  return *placed.placement;
}

// libvirt's report of a domain pinned exactly where `p` says.
LiveDomain RunningAs(const Placement& p, const std::string& name) {
  LiveDomain d{.name = name,
               .uuid = p.vm,
               .uri = "test:///default",
               .type = *testing::TestCatalog().Find(p.instance_type),
               .pinning = {}};
  for (unsigned cpu : p.vcpu_cpus) d.pinning.vcpus.push_back(CpuSet::Range(cpu, cpu));
  if (p.emulator_cpu) d.pinning.emulator = CpuSet::Range(*p.emulator_cpu, *p.emulator_cpu);
  return d;
}

void SaveState(const std::filesystem::path& dir, const std::vector<Placement>& placements) {
  v1::AgentState saved;
  for (const auto& p : placements)
    *saved.add_allocations() = AllocationFromPlacement(p, p.vm, "test:///default");
  StateStore(dir).Save(saved);
}

TEST(LiveHost, APinnedDomainMissingFromTheStateIsTakenAsIfTheAgentHadPlacedIt) {
  const kvhost::TempDir tmp;
  const auto root = kvhost::testing::FixturesDir() / kvhost::kIntelHugepages;
  const LiveHost empty = Load(root, tmp.path() / "none");
  const Placement p = OneCx1Medium(empty.allocator, "uuid-a");
  Allocator expected = empty.allocator;
  expected.Commit(p);

  RunningDomains running{.connected_uris = {"test:///default"}, .domains = {RunningAs(p, "vm-a")}};
  const LiveHost live = Load(root, tmp.path() / "none", running);
  ASSERT_EQ(live.allocator.placements().size(), 1u);
  EXPECT_EQ(live.allocator.HeldCpus(), expected.HeldCpus());
  for (const char* type : {"cx1.medium", "cx1.large", "u1.large"})
    EXPECT_EQ(Count(live.allocator, type), Count(expected, type)) << type;
  ASSERT_EQ(live.warnings.size(), empty.warnings.size() + 1);
  EXPECT_NE(live.warnings.back().find("'vm-a'"), std::string::npos) << live.warnings.back();

  // Floating vCPUs or an unknown type say nothing about where it is: nothing taken.
  running.domains[0].pinning.vcpus[0] = CpuSet::Range(0, 3);
  running.domains.push_back(RunningAs(p, "vm-b"));
  running.domains.back().type.reset();
  const LiveHost vague = Load(root, tmp.path() / "none", running);
  EXPECT_TRUE(vague.allocator.placements().empty());
}

// sysfs free_hugepages already lacks the pages of a VM that runs: whether the
// state lists it or only libvirt reports it, its pages are counted once.
TEST(LiveHost, ARunningVmsHugepagesAreNeverSubtractedTwice) {
  const kvhost::TempDir tmp;
  const auto pristine = kvhost::testing::FixturesDir() / kvhost::kIntelHugepages;
  const LiveHost empty = Load(pristine, tmp.path() / "none");
  const Placement p = OneCx1Medium(empty.allocator, "uuid-a");
  ASSERT_EQ(p.hugepages.size(), 1u);
  ASSERT_EQ(p.hugepages[0].pages, 1024u);
  Allocator expected = empty.allocator;
  expected.Commit(p);
  const unsigned want = Count(expected, "cx1.medium");
  // Hand-worked: 2048 2Mi pages per node, 1024 per cx1.medium: 4 fit empty, 3 beside it.
  EXPECT_EQ(Count(empty.allocator, "cx1.medium"), 4u);
  EXPECT_EQ(want, 3u);

  // The same host with the VM running: the kernel shows its pages as used.
  const auto root = kvhost::CopyFixture(kvhost::kIntelHugepages, tmp);
  const std::string pool = "hugepages/hugepages-2048kB/free_hugepages";
  kvhost::WriteFile(
      root / ("sys/devices/system/node/node" + std::to_string(p.hugepages[0].node) + "/" + pool),
      "1024\n");
  kvhost::WriteFile(root / ("sys/kernel/mm/" + pool), "3072\n");
  SaveState(tmp.path() / "listed", {p});
  const RunningDomains running{.connected_uris = {"test:///default"},
                               .domains = {RunningAs(p, "vm-a")}};

  const LiveHost listed = Load(root, tmp.path() / "listed", running);
  const LiveHost unlisted = Load(root, tmp.path() / "none", running);
  const LiveHost state_only = Load(root, tmp.path() / "listed");
  EXPECT_EQ(Count(listed.allocator, "cx1.medium"), want);
  EXPECT_EQ(Count(unlisted.allocator, "cx1.medium"), want);
  EXPECT_EQ(Count(state_only.allocator, "cx1.medium"), want);
}

TEST(LiveHost, AStateEntryOfAGoneDomainIsIgnoredWithAWarningUnlessItsLibvirtIsUnreachable) {
  const kvhost::TempDir tmp;
  const auto root = kvhost::testing::FixturesDir() / kvhost::kIntelHugepages;
  const LiveHost empty = Load(root, tmp.path() / "none");
  Placement p = OneCx1Medium(empty.allocator, "uuid-gone");
  SaveState(tmp.path(), {p});

  const LiveHost gone =
      Load(root, tmp.path(), RunningDomains{.connected_uris = {"test:///default"}, .domains = {}});
  EXPECT_TRUE(gone.allocator.placements().empty());
  EXPECT_EQ(Count(gone.allocator, "cx1.medium"), Count(empty.allocator, "cx1.medium"));
  ASSERT_FALSE(gone.warnings.empty());
  EXPECT_NE(gone.warnings.back().find("no longer runs behind test:///default"), std::string::npos)
      << gone.warnings.back();

  // Only qemu:///system answered: no news of test:///default is not death.
  const LiveHost unreachable =
      Load(root, tmp.path(), RunningDomains{.connected_uris = {"qemu:///system"}, .domains = {}});
  EXPECT_EQ(unreachable.allocator.placements().size(), 1u);
}

}  // namespace
}  // namespace kvhost
