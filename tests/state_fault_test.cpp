// Faults at the edges, on real components: a full and a read-only state
// directory while pinning (real tmpfs mounts, so this needs root: skipped
// otherwise, and says so), libvirt unreachable when a command starts (the real
// binary), and a sysfs node directory vanishing while the host is read (a copied
// fixture root that a second thread changes under the reader, as CPU/memory
// hotplug does).
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <sys/mount.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "agent/catalog/builtin_catalog.h"
#include "agent/host/discover.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/pinner.h"
#include "agent_process_support.h"
#include "allocator_support.h"

namespace kvhost::testing {
namespace {

namespace fs = std::filesystem;
using it::RunProcess;
using it::TempDir;

std::string NodeUri() {
  const char* source = std::getenv("KVHOST_SOURCE_DIR");
  return std::string("test://") + (source ? source : ".") + "/tests/data/libvirt/cli-node.xml";
}

std::string Text(const fs::path& file) { return it::ReadFile(file); }

// A tmpfs of `size` mounted on a fresh directory, unmounted at the end.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& size) {
    const std::string options = "size=" + size;
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0) mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const fs::path& path() const { return dir_.path(); }
  // Writes a filler file until the filesystem says ENOSPC.
  void Fill() const {
    std::FILE* f = std::fopen((path() / "filler").c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string block(512, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    while (std::fputc('x', f) != EOF && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  bool RemountReadOnly() const {
    return ::mount(nullptr, path().c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }

 private:
  TempDir dir_;
  bool mounted_ = false;
};

class StateFault : public ::testing::Test {
 protected:
  void SetUp() override {
    HostModel model = LoadFixture("hwloc-16amd64-4n4c-hugepages");
    host = std::make_shared<const HostResources>(BuildHostResources(model, AgentConfig{}));
  }
  // A pinner whose state lives in `dir`, reconciled with kv-bare left unpinned.
  std::unique_ptr<Pinner> NewPinner(const fs::path& dir) {
    auto p = std::make_unique<Pinner>(host, BuiltinCatalog(), StateStore(dir));
    p->AddConnection(&connection);
    p->Reconcile("kv-bare");
    return p;
  }
  std::string Affinity(const std::string& name) {
    const DomainPinning p =
        ReadPinning(connection, connection.LookupDomain(name), VIR_DOMAIN_AFFECT_CURRENT);
    std::string s;
    for (const auto& v : p.vcpus) s += v.ToList() + ";";
    return s;
  }
  // Pinning kv-bare fails with `error` in the message; nothing of it is kept or applied.
  void ExpectPinRefusedAndNothingChanged(Pinner& pinner, const fs::path& dir,
                                         const std::string& error) {
    const std::string state_before = Text(dir / "state.pb");
    const std::string affinity_before = Affinity("kv-bare");
    const size_t held_before = pinner.allocator().placements().size();
    try {
      pinner.PinOnAnyConnection("kv-bare", "u1.small");
      ADD_FAILURE() << "pin succeeded on a state directory that cannot be written";
    } catch (const StateStoreError& e) {
      EXPECT_NE(std::string(e.what()).find(error), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(Text(dir / "state.pb"), state_before) << "the old state file is intact";
    EXPECT_EQ(pinner.allocator().placements().size(), held_before) << "the allocation was undone";
    EXPECT_EQ(pinner.vms().count(connection.LookupDomain("kv-bare").uuid()), 0u);
    EXPECT_EQ(Affinity("kv-bare"), affinity_before) << "libvirt was not touched";
    std::vector<std::string> leftovers;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename() != "state.pb" && e.path().filename() != "filler")
        leftovers.push_back(e.path().filename());
    EXPECT_TRUE(leftovers.empty()) << "no temp file is left: " << leftovers.front();
  }

  std::shared_ptr<const HostResources> host;
  LibvirtConnection connection = LibvirtConnection::Open(NodeUri());
};

TEST_F(StateFault, ADiskFullWhileSavingKeepsTheOldStateAndAppliesNothing) {
  SmallTmpfs fs64k("64k");
  if (!fs64k.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
  auto pinner = NewPinner(fs64k.path());
  ASSERT_TRUE(fs::exists(fs64k.path() / "state.pb"));
  fs64k.Fill();
  ExpectPinRefusedAndNothingChanged(*pinner, fs64k.path(), "No space left on device");
}

TEST_F(StateFault, AReadOnlyStateDirKeepsTheOldStateAndAppliesNothing) {
  SmallTmpfs tmp("1m");
  if (!tmp.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
  auto pinner = NewPinner(tmp.path());
  ASSERT_TRUE(tmp.RemountReadOnly());
  ExpectPinRefusedAndNothingChanged(*pinner, tmp.path(), "Read-only file system");
  // Unpinning cannot be saved either: the allocation stays held and pinned.
  const std::string uuid = connection.LookupDomain("kv-u1").uuid();
  const std::string affinity = Affinity("kv-u1");
  EXPECT_THROW(pinner->UnpinOnAnyConnection("kv-u1"), StateStoreError);
  EXPECT_EQ(pinner->vms().count(uuid), 1u);
  EXPECT_EQ(pinner->allocator().placements().count(uuid), 1u);
  EXPECT_EQ(Affinity("kv-u1"), affinity);
}

TEST_F(StateFault, LibvirtUnreachableAtStartIsAClearErrorAndFreesNothing) {
  TempDir state;
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_NE(agent, nullptr);
  const std::string root = (FixturesDir() / "hwloc-16amd64-4n4c-hugepages").string();
  auto run = [&](const std::string& uri, const std::string& command) {
    return RunProcess(
        {agent, command, "--root", root, "--connect", uri, "--state-dir", state.path().string()});
  };
  ASSERT_TRUE(run(NodeUri(), "reconcile").end.Exited(0));
  const std::string saved = Text(state.path() / "state.pb");
  const std::string gone = "qemu+unix:///system?socket=" + (state.path() / "no.sock").string();
  for (const char* command : {"reconcile", "audit"}) {
    const auto r = run(gone, command);
    EXPECT_TRUE(r.end.Exited(1)) << command << "\n" << r.Describe();
    EXPECT_NE(r.err.find("no libvirt connection could be opened"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(gone), std::string::npos) << "the URI is named\n" << r.err;
  }
  EXPECT_EQ(Text(state.path() / "state.pb"), saved) << "no saved allocation was freed";
}

// A CPU-less node directory and a node's files vanishing while the host is read:
// every read either gives a consistent model or a clear error, never a crash.
TEST(Hotplug, ANodeVanishingWhileTheHostIsReadIsAnErrorOrAModelWithoutItNeverACrash) {
  TempDir scratch;
  const fs::path root = scratch.path() / "root";
  fs::copy(FixturesDir() / "hwloc-16amd64-4n4c-hugepages", root, fs::copy_options::recursive);
  const fs::path node = root / "sys/devices/system/node/node3";
  const fs::path away = scratch.path() / "node3-away";
  ASSERT_TRUE(fs::is_directory(node));
  // Deterministic first: the directory is listed, then a file of it is gone.
  fs::rename(node / "meminfo", away);
  try {
    DiscoverHost(root);
    ADD_FAILURE() << "a node without meminfo was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("node3"), std::string::npos) << e.what();
  }
  fs::rename(away, node / "meminfo");
  // Then racing: the node comes and goes while the host is read again and again.
  std::atomic<bool> stop = false;
  std::thread hotplug([&] {
    while (!stop) {
      fs::rename(node, away);
      std::this_thread::yield();
      fs::rename(away, node);
    }
  });
  unsigned whole = 0, partial = 0, errors = 0;
  for (int i = 0; i < 300; ++i) {
    try {
      const HostModel host = DiscoverHost(root);
      (host.numa.nodes.size() == 4 ? whole : partial)++;
      unsigned cpus = 0;
      for (const auto& n : host.numa.nodes) cpus += n.cpus.Count();
      EXPECT_LE(cpus, 16u);
    } catch (const std::exception& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find(root.string()), std::string::npos)
          << "the error names the file: " << e.what();
    }
  }
  stop = true;
  hotplug.join();
  std::cout << "hotplug: " << whole << " whole reads, " << partial << " without node3, " << errors
            << " errors\n";
  EXPECT_EQ(whole + partial + errors, 300u);
}

}  // namespace
}  // namespace kvhost::testing
