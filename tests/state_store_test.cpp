// state.pb: round trips, damage of every kind moved aside, atomic replacement.
#include "agent/state/state_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "agent/state/allocation_convert.h"
#include "agent/state/crc32c.h"
#include "agent/state/state_file_format.h"

namespace kvhost {
namespace {

namespace fs = std::filesystem;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kvhost-state-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string ReadFile(const fs::path& path) const {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  void WriteFile(const fs::path& path, const std::string& bytes) const {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  fs::path dir_;
};

Placement SamplePlacement() {
  Placement placement;
  placement.vm = "vm-a";
  placement.instance_type = "cx1.large";
  placement.dedicated = true;
  placement.vcpu_cpus = {2, 3, 10, 11};
  placement.emulator_cpu = 12;
  placement.numa_nodes = {1};
  placement.guest_cells = {GuestNumaCell{1, {0, 1, 2, 3}, 4194304}};
  placement.hugepages = {HugepageGrant{1, 1048576, 4}};
  placement.memory_kib = 0;
  placement.gpus = 1;
  placement.gpu_device = "nvidia.com/A400";
  return placement;
}

v1::AgentState SampleState() {
  v1::AgentState state;
  *state.add_allocations() = AllocationFromPlacement(
      SamplePlacement(), "6f1c2a10-0000-4000-8000-000000000001", "qemu:///system");
  Placement shared;
  shared.vm = "vm-b";
  shared.shared_cpus = ParseCpuList("4-7,20");
  shared.shared_vcpus = 2;
  shared.memory_kib = 2097152;
  *state.add_allocations() = AllocationFromPlacement(shared, "uuid-b", "test:///default");
  return state;
}

void ExpectSamePlacement(const Placement& a, const Placement& b) {
  EXPECT_EQ(a.vm, b.vm);
  EXPECT_EQ(a.instance_type, b.instance_type);
  EXPECT_EQ(a.dedicated, b.dedicated);
  EXPECT_EQ(a.vcpu_cpus, b.vcpu_cpus);
  EXPECT_EQ(a.shared_cpus, b.shared_cpus);
  EXPECT_EQ(a.emulator_cpu, b.emulator_cpu);
  EXPECT_EQ(a.numa_nodes, b.numa_nodes);
  ASSERT_EQ(a.guest_cells.size(), b.guest_cells.size());
  for (size_t i = 0; i < a.guest_cells.size(); ++i) {
    EXPECT_EQ(a.guest_cells[i].host_node, b.guest_cells[i].host_node);
    EXPECT_EQ(a.guest_cells[i].vcpus, b.guest_cells[i].vcpus);
    EXPECT_EQ(a.guest_cells[i].memory_kib, b.guest_cells[i].memory_kib);
  }
  ASSERT_EQ(a.hugepages.size(), b.hugepages.size());
  for (size_t i = 0; i < a.hugepages.size(); ++i) {
    EXPECT_EQ(a.hugepages[i].node, b.hugepages[i].node);
    EXPECT_EQ(a.hugepages[i].size_kib, b.hugepages[i].size_kib);
    EXPECT_EQ(a.hugepages[i].pages, b.hugepages[i].pages);
  }
  EXPECT_EQ(a.memory_kib, b.memory_kib);
  EXPECT_EQ(a.shared_vcpus, b.shared_vcpus);
  EXPECT_EQ(a.gpus, b.gpus);
  EXPECT_EQ(a.gpu_device, b.gpu_device);
}

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

// RFC 3720 (iSCSI) appendix B.4: the published CRC-32C test vectors.
TEST(Crc32c, MatchesTheIscsiTestVectors) {
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);
}

// tests/data/state/state-table-crc32c.pb is SampleState() as saved by the
// hand-written table CRC this agent used before Boost.CRC: files already on
// hosts must still verify.
TEST_F(StateStoreTest, ReadsAStateFileWrittenByThePreviousChecksumCode) {
  const char* source = std::getenv("KVHOST_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "run through ctest (KVHOST_SOURCE_DIR)";
  fs::copy_file(fs::path(source) / "tests/data/state/state-table-crc32c.pb",
                dir_ / StateStore::kFileName);
  LoadedState loaded = StateStore(dir_).Read();
  ASSERT_EQ(loaded.status, StateLoadStatus::kLoaded) << loaded.problem;
  ASSERT_EQ(loaded.state.allocations_size(), 2);
  ExpectSamePlacement(PlacementFromAllocation(loaded.state.allocations(0)), SamplePlacement());
  EXPECT_EQ(loaded.state.allocations(1).shared_cpus(), "4-7,20");
  // Written before the state remembered unpins: read as none, same version.
  EXPECT_EQ(loaded.state.unpinned_size(), 0);
}

TEST(AllocationConvert, PlacementRoundTrips) {
  Placement placement = SamplePlacement();
  v1::Allocation allocation = AllocationFromPlacement(placement, "uuid-a", "qemu:///system");
  EXPECT_EQ(allocation.domain_uuid(), "uuid-a");
  EXPECT_EQ(allocation.connection_uri(), "qemu:///system");
  EXPECT_TRUE(allocation.has_emulator_cpu());
  ExpectSamePlacement(PlacementFromAllocation(allocation), placement);

  placement.emulator_cpu.reset();
  placement.shared_cpus = ParseCpuList("0-3");
  allocation = AllocationFromPlacement(placement, "", "");
  EXPECT_FALSE(allocation.has_emulator_cpu());  // absent, not CPU 0
  ExpectSamePlacement(PlacementFromAllocation(allocation), placement);

  allocation.set_shared_cpus("4-x");
  EXPECT_THROW(PlacementFromAllocation(allocation), FormatError);
}

TEST_F(StateStoreTest, SaveThenLoadRoundTrips) {
  StateStore store(dir_);
  store.Save(SampleState());
  LoadedState loaded = store.Load();
  EXPECT_EQ(loaded.status, StateLoadStatus::kLoaded);
  EXPECT_FALSE(loaded.rebuild_from_libvirt_needed());
  EXPECT_EQ(loaded.state.version(), kAgentStateVersion);
  ASSERT_EQ(loaded.state.allocations_size(), 2);
  ExpectSamePlacement(PlacementFromAllocation(loaded.state.allocations(0)), SamplePlacement());
  EXPECT_EQ(loaded.state.allocations(1).shared_cpus(), "4-7,20");
  EXPECT_EQ(loaded.state.allocations(1).connection_uri(), "test:///default");
  EXPECT_EQ(Files(), std::vector<std::string>{"state.pb"});  // no temp file left
}

TEST_F(StateStoreTest, SaveReplacesThePreviousStateAndCreatesTheDirectory) {
  StateStore store(dir_ / "nested" / "dir");
  store.Save(SampleState());
  v1::AgentState empty;
  store.Save(empty);
  LoadedState loaded = store.Load();
  EXPECT_EQ(loaded.status, StateLoadStatus::kLoaded);
  EXPECT_EQ(loaded.state.allocations_size(), 0);
  EXPECT_EQ(fs::status(store.file()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(StateStoreTest, MissingFileIsAnEmptyStateToRebuild) {
  LoadedState loaded = StateStore(dir_).Load();
  EXPECT_EQ(loaded.status, StateLoadStatus::kMissing);
  EXPECT_TRUE(loaded.rebuild_from_libvirt_needed());
  EXPECT_EQ(loaded.state.allocations_size(), 0);
  EXPECT_TRUE(loaded.moved_aside_to.empty());
  EXPECT_TRUE(Files().empty());
}

// Loads a damaged file and checks it went aside whole and the state is empty.
void ExpectMovedAside(const StateStore& store, const std::string& damaged,
                      const std::string& problem_part) {
  LoadedState loaded = store.Load();
  EXPECT_EQ(loaded.status, StateLoadStatus::kCorrupt);
  EXPECT_TRUE(loaded.rebuild_from_libvirt_needed());
  EXPECT_EQ(loaded.state.allocations_size(), 0);
  EXPECT_NE(loaded.problem.find(problem_part), std::string::npos) << loaded.problem;
  EXPECT_FALSE(fs::exists(store.file()));
  ASSERT_FALSE(loaded.moved_aside_to.empty());
  EXPECT_EQ(loaded.moved_aside_to.parent_path(), store.directory());
  EXPECT_EQ(loaded.moved_aside_to.filename().string().rfind(StateStore::kCorruptPrefix, 0), 0u);
  std::ifstream in(loaded.moved_aside_to, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), damaged);
}

TEST_F(StateStoreTest, AFlippedByteIsMovedAside) {
  StateStore store(dir_);
  store.Save(SampleState());
  std::string bytes = ReadFile(store.file());
  bytes[bytes.size() / 2 + kStateHeaderSize / 2] ^= 0x01;
  WriteFile(store.file(), bytes);
  ExpectMovedAside(store, bytes, "checksum mismatch");
}

TEST_F(StateStoreTest, ATruncatedFileIsMovedAside) {
  StateStore store(dir_);
  store.Save(SampleState());
  std::string bytes = ReadFile(store.file());
  for (size_t keep : {bytes.size() - 1, kStateHeaderSize, size_t{7}, size_t{0}}) {
    std::string truncated = bytes.substr(0, keep);
    WriteFile(store.file(), truncated);
    ExpectMovedAside(store, truncated, "truncated");
  }
  // Each bad load kept its own evidence file.
  EXPECT_EQ(Files().size(), 4u);
}

TEST_F(StateStoreTest, GarbageAndForeignFilesAreMovedAside) {
  StateStore store(dir_);
  WriteFile(store.file(), "this is not a state file at all");
  ExpectMovedAside(store, "this is not a state file at all", "bad magic");

  std::string trailing = FrameStatePayload("") + "junk";
  WriteFile(store.file(), trailing);
  ExpectMovedAside(store, trailing, "trailing bytes");

  // A well-framed payload that is not an AgentState.
  std::string not_proto = FrameStatePayload("\xff\xff\xff\xff");
  WriteFile(store.file(), not_proto);
  ExpectMovedAside(store, not_proto, "not a kvhost.v1.AgentState");

  // A state from a newer agent (or one with no version).
  v1::AgentState future;
  future.set_version(kAgentStateVersion + 1);
  std::string future_bytes = FrameStatePayload(future.SerializeAsString());
  WriteFile(store.file(), future_bytes);
  ExpectMovedAside(store, future_bytes, "state version 2");
}

TEST_F(StateStoreTest, AnUnreadableFileIsMovedAside) {
  StateStore store(dir_);
  fs::create_directory(store.file());  // read() on a directory fails with EISDIR
  LoadedState loaded = store.Load();
  EXPECT_EQ(loaded.status, StateLoadStatus::kCorrupt);
  EXPECT_NE(loaded.problem.find("unreadable"), std::string::npos) << loaded.problem;
  EXPECT_TRUE(fs::is_directory(loaded.moved_aside_to));
  EXPECT_FALSE(fs::exists(store.file()));
}

TEST_F(StateStoreTest, ACrashBeforeTheRenameKeepsTheOldState) {
  StateStore store(dir_);
  store.Save(SampleState());
  // What a crash between writing the temp file and renaming it leaves: a
  // complete, valid new state under the temp name, state.pb untouched.
  v1::AgentState newer;
  newer.set_version(kAgentStateVersion);
  std::string framed = FrameStatePayload(newer.SerializeAsString());
  fs::path leftover = dir_ / (std::string(StateStore::kTempPrefix) + "4242-0");
  WriteFile(leftover, framed);

  LoadedState loaded = store.Load();
  EXPECT_EQ(loaded.status, StateLoadStatus::kLoaded);
  EXPECT_EQ(loaded.state.allocations_size(), 2);  // the old, committed state
  EXPECT_FALSE(fs::exists(leftover));             // the unfinished save is cleaned up
  EXPECT_EQ(Files(), std::vector<std::string>{"state.pb"});
}

TEST_F(StateStoreTest, ReadVerifiesLikeLoadButTouchesNothing) {
  StateStore store(dir_);
  store.Save(SampleState());
  const LoadedState good = store.Read();
  EXPECT_EQ(good.status, StateLoadStatus::kLoaded);
  EXPECT_EQ(good.state.allocations_size(), SampleState().allocations_size());
  {
    std::fstream f(store.file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(25);
    f.put('\x5a');
  }
  const LoadedState bad = store.Read();
  EXPECT_EQ(bad.status, StateLoadStatus::kCorrupt);
  EXPECT_FALSE(bad.problem.empty());
  EXPECT_TRUE(bad.moved_aside_to.empty());
  EXPECT_EQ(Files(), std::vector<std::string>{"state.pb"}) << "Read must not move the file aside";
}

TEST_F(StateStoreTest, AFailedSaveLeavesTheOldStateAndNoTempFile) {
  StateStore store(dir_);
  store.Save(SampleState());
  // Make the rename fail: state.pb is now a non-empty directory.
  fs::rename(store.file(), dir_ / "saved.pb");
  fs::create_directories(store.file() / "blocker");
  EXPECT_THROW(store.Save(v1::AgentState()), StateStoreError);
  std::vector<std::string> files = Files();
  EXPECT_EQ(files, (std::vector<std::string>{"saved.pb", "state.pb"}));
}

}  // namespace
}  // namespace kvhost
