// Input an operator (or an attacker with write access to a dump) can hand the
// agent that is not a kernel file at all: FIFOs, devices, endless or huge files.
// Every such input is an error naming the file, returned at once: a test fails
// when the agent hangs (it runs under a deadline) instead of hanging ctest.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>

#include "agent/host/discover.h"
#include "agent/state/state_store.h"
#include "tests/damaged_root_support.h"

namespace kvhost {
namespace {

using std::chrono::seconds;

// Files read by our own readers and by hwloc (cpu0/topology, proc/cpuinfo).
struct FifoCase {
  const char* name;
  const char* machine;
  const char* file;
};

void PrintTo(const FifoCase& c, std::ostream* os) { *os << c.name; }

const FifoCase kFifoCases[] = {
    {"NodeCpulist", kIntelHugepages, "sys/devices/system/node/node0/cpulist"},
    {"NodeMeminfo", kIntelHugepages, "sys/devices/system/node/node0/meminfo"},
    {"NodeDistance", kIntelHugepages, "sys/devices/system/node/node0/distance"},
    {"NodeNrHugepages", kIntelHugepages,
     "sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"},
    {"GlobalFreeHugepages", kIntelHugepages,
     "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"},
    {"ProcCmdline", kIntelHugepages, "proc/cmdline"},
    {"ProcMeminfo", kIntelHugepages, "proc/meminfo"},
    {"ProcCpuinfo", kIntelHugepages, "proc/cpuinfo"},
    {"CpuOnline", kIntelHugepages, "sys/devices/system/cpu/online"},
    {"CpuTopologyCoreId", kIntelHugepages, "sys/devices/system/cpu/cpu3/topology/core_id"},
    {"CpuIsolated", kPmemIsolated, "sys/devices/system/cpu/isolated"},
};

class FifoInRoot : public testing::TestWithParam<FifoCase> {};

TEST_P(FifoInRoot, IsRefusedAtOnceNamingTheFile) {
  const FifoCase& c = GetParam();
  TempDir tmp;
  const fs::path root = CopyFixture(c.machine, tmp);
  const fs::path file = root / c.file;
  ASSERT_TRUE(fs::is_regular_file(file)) << "fixture lacks " << c.file;
  fs::remove(file);
  ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);

  // The CLI first, under a deadline: if discovery hangs, the library call would too.
  const auto run = RunAgent({"inspect", "--root", root.string()}, seconds(20));
  ASSERT_FALSE(run.timed_out) << "inspect hung on a FIFO at " << c.file;
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find(file.string() + ": is a FIFO, not a regular file"), std::string::npos)
      << run.err;
  try {
    DiscoverHost(root);
    ADD_FAILURE() << "a FIFO at " << c.file << " was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), file) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Inputs, FifoInRoot, testing::ValuesIn(kFifoCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(HostileFiles, ASymlinkLoopAsANodeDirectoryIsNamed) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  const fs::path node = root / "sys/devices/system/node/node1";
  fs::remove_all(node);
  fs::create_directory_symlink("node1", node);  // node1 -> node1
  const auto run = RunAgent({"inspect", "--root", root.string()}, seconds(20));
  ASSERT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(node.string() + ": is a symlink loop"), std::string::npos) << run.err;
}

TEST(HostileFiles, CatalogAndConfigThatAreNotRegularFilesAreRefusedAtOnce) {
  TempDir tmp;
  const fs::path fifo = tmp.path() / "input.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string root = (FixturesDir() / kIntelHugepages).string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"capacity", "--root", root, "--catalog", fifo.string()},
       fifo.string() + ": is a FIFO, not a regular file"},
      {{"capacity", "--root", root, "--config", fifo.string()},
       fifo.string() + ": is a FIFO, not a regular file"},
      {{"capacity", "--root", root, "--catalog", "/dev/zero"},
       "/dev/zero: is a character device, not a regular file"},
  };
  for (const auto& [args, expected] : cases) {
    const auto started = std::chrono::steady_clock::now();
    const auto run = RunAgent(args, seconds(20));
    ASSERT_FALSE(run.timed_out) << "hung: " << args[3] << " " << args[4];
    EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(10));
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_NE(run.err.find(expected), std::string::npos) << run.err;
  }
}

TEST(HostileFiles, AnOversizedCatalogIsRefusedWithTheLimitAndWhy) {
  TempDir tmp;
  const fs::path big = tmp.path() / "big.yaml";
  WriteFile(big, "# " + std::string(3u << 20, 'x') + "\n");
  const auto run = RunAgent(
      {"capacity", "--root", (FixturesDir() / kIntelHugepages).string(), "--catalog", big.string()},
      seconds(20));
  ASSERT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(big.string() + ": is 3145731 bytes, more than the limit of 2048 KiB"),
            std::string::npos)
      << run.err;
}

TEST(HostileFiles, AStateFileThatIsAFifoIsCorruptNotAHang) {
  TempDir tmp;
  ASSERT_EQ(::mkfifo((tmp.path() / "state.pb").c_str(), 0600), 0);
  // In a child with an alarm: a read that blocks must fail this test, not hang it.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(10);
    const LoadedState loaded = StateStore(tmp.path()).Read();
    const bool ok = loaded.status == StateLoadStatus::kCorrupt &&
                    loaded.problem == "unreadable: is a FIFO, not a regular file";
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << "the read blocked (killed by signal " << WTERMSIG(status)
                                 << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "not reported as a corrupt state";
}

// Config values that name nothing on this host passed silently before.
TEST(HostileConfig, ValuesThatNameNothingOnThisHostAreErrorsNamingFileAndKey) {
  TempDir tmp;
  const std::string root = (FixturesDir() / kIntelHugepages).string();  // CPUs 0-31, 2 nodes
  const std::pair<std::string, std::string> cases[] = {
      {"dedicatedCpus: \"100-200\"\n",
       "dedicatedCpus names CPUs 100-200 that this host does not have"},
      {"reservedCpus: \"0,9999\"\n", "reservedCpus names CPUs 9999 that this host does not have"},
      {"reservedMemoryByNode:\n  7: 4Gi\n",
       "reservedMemoryByNode names node 7, which this host does not have"},
  };
  for (const auto& [yaml, expected] : cases) {
    const fs::path config = tmp.path() / "config.yaml";
    WriteFile(config, yaml);
    const auto run =
        RunAgent({"capacity", "--root", root, "--config", config.string()}, seconds(30));
    ASSERT_FALSE(run.timed_out);
    EXPECT_EQ(run.exit_code, 1) << yaml;
    EXPECT_NE(run.err.find(config.string() + ": " + expected), std::string::npos) << run.err;
  }
}

// An empty capacity table with exit 0 read as "nothing fits here".
TEST(HostileConfig, NoBuiltinCatalogWithoutTypesIsAnError) {
  TempDir tmp;
  const fs::path empty = tmp.path() / "empty.yaml";
  WriteFile(empty, "# nothing\n");
  const std::string root = (FixturesDir() / kIntelHugepages).string();
  auto run = RunAgent({"capacity", "--root", root, "--no-builtin-catalog"}, seconds(30));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--no-builtin-catalog needs at least one --catalog file"),
            std::string::npos)
      << run.err;
  run = RunAgent({"capacity", "--root", root, "--no-builtin-catalog", "--catalog", empty.string()},
                 seconds(30));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("the --catalog files hold no instance type"), std::string::npos)
      << run.err;
}

// A NUL used to cut the message at "'7" (what() is a C string), and escape
// sequences in a file reached the terminal as they were.
TEST(HostileMessages, RawBytesAreEscapedAndNothingIsCutOff) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  const fs::path file = root / "sys/devices/system/node/node0/cpulist";
  WriteFile(file, std::string("7\0\x1b[2Jjunk\n", 10));
  const std::string expected = "'7\\x00\\x1b[2Jjunk' is not a CPU number";
  try {
    DiscoverHost(root);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  const auto run = RunAgent({"inspect", "--root", root.string()}, seconds(20));
  EXPECT_NE(run.err.find(expected), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find('\x1b'), std::string::npos) << "an escape sequence reached stderr";
}

TEST(HostileMessages, TheCpuModelLosesItsPaddingSpaces) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  const fs::path cpuinfo = root / "proc/cpuinfo";
  std::string text = ReadFile(cpuinfo), padded;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    padded += line + (line.starts_with("model name") ? "   \n" : "\n");
  WriteFile(cpuinfo, padded);
  const std::string model = DiscoverHost(root).cpu.cpu_model;
  ASSERT_FALSE(model.empty());
  EXPECT_NE(model.back(), ' ') << "'" << model << "'";
}

}  // namespace
}  // namespace kvhost
