// Discovery on damaged roots: each corruption must end in an InputError that
// names the damaged file and says what is wrong with it, both from the library
// and from the CLI (non-zero exit, message on stderr). The fuzz test at the end
// only asks that nothing crashes, whatever a file contains.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "agent/host/discover.h"
#include "base/sysfs_root.h"
#include "tests/damaged_root_support.h"

namespace kvhost {
namespace {

// Expects discovery of `root` to fail with an InputError naming `file` and
// giving `reason`, and the CLI to exit non-zero with that message on stderr.
void ExpectRejected(const fs::path& root, const fs::path& file, const std::string& reason) {
  std::string message;
  try {
    DiscoverHost(root);
    ADD_FAILURE() << "discovery accepted the damaged " << file;
    return;
  } catch (const InputError& e) {
    message = e.what();
    EXPECT_EQ(e.file(), file);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an InputError: " << e.what();
    return;
  }
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find(reason), std::string::npos)
      << "reason '" << reason << "' missing: " << message;

  const auto run = RunAgent({"inspect", "--root", root.string(), "-o", "json"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_LT(run.exit_code, 128) << "the CLI died of a signal";
  EXPECT_NE(run.err.find(message), std::string::npos) << "stderr: " << run.err;
}

// One damaged file per case. `damage` gets the copied root and the file.
struct Corruption {
  const char* name;
  const char* machine;
  const char* file;  // relative to the root
  std::string (*damage)(const fs::path& root, const fs::path& file);
  const char* reason;
};

// Names the case in test output and ctest names, instead of its raw bytes.
void PrintTo(const Corruption& c, std::ostream* os) { *os << c.name; }

std::string Garbage(const fs::path&, const fs::path&) { return "0-7,zz\n"; }
std::string BadIsolated(const fs::path&, const fs::path&) { return "4-x\n"; }
std::string Negative(const fs::path&, const fs::path&) { return "-4\n"; }
std::string BadDistance(const fs::path&, const fs::path&) { return "10 2x1\n"; }
std::string ZeroDistance(const fs::path&, const fs::path&) { return "0 10\n"; }
std::string NotANumber(const fs::path&, const fs::path&) { return "lots\n"; }
std::string Letters(const fs::path&, const fs::path&) { return "zzz\n"; }
std::string Empty(const fs::path&, const fs::path&) { return ""; }
std::string ListThenLetters(const fs::path&, const fs::path&) { return "0-7,abc\n"; }
std::string ThreeColumns(const fs::path&, const fs::path&) { return "10 21 21\n"; }
std::string FourGiPages(const fs::path&, const fs::path&) { return "4294967296\n"; }
std::string MinusFive(const fs::path&, const fs::path&) { return "-5\n"; }
std::string OneAboveThePool(const fs::path&, const fs::path&) { return "2049\n"; }

std::string TruncatedMeminfo(const fs::path&, const fs::path& file) {
  // Cut inside the first line, as a short read or a full disk would.
  const std::string text = ReadFile(file);
  return text.substr(0, text.find("MemTotal") + 3);
}

std::string BeyondKernelMax(const fs::path& root, const fs::path&) {
  const int kernel_max = std::stoi(ReadFile(root / "sys/devices/system/cpu/kernel_max"));
  return "1-3," + std::to_string(kernel_max + 1) + "\n";
}

std::string BackwardsIsolcpus(const fs::path&, const fs::path& file) {
  std::string text = ReadFile(file);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text + " isolcpus=domain,9-3\n";
}

std::string FlagsOnlyIsolcpus(const fs::path&, const fs::path&) {
  return "ro quiet isolcpus=managed_irq,domain\n";
}

const Corruption kCorruptions[] = {
    {"NodeCpulistGarbage", kIntelHugepages, "sys/devices/system/node/node0/cpulist", Garbage,
     "'zz' is not a CPU number"},
    {"NodeCpulistBeyondKernelMax", kPmemIsolated, "sys/devices/system/node/node1/cpulist",
     BeyondKernelMax, "beyond kernel_max"},
    {"NodeMeminfoTruncated", kIntelHugepages, "sys/devices/system/node/node1/meminfo",
     TruncatedMeminfo, "no MemTotal"},
    {"NegativeNodeHugepages", kIntelHugepages,
     "sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", Negative,
     "negative count"},
    {"NegativeGlobalFreeHugepages", kIntelHugepages,
     "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", Negative, "negative count"},
    {"HugepageCountNotANumber", kPmemIsolated,
     "sys/devices/system/node/node4/hugepages/hugepages-1048576kB/surplus_hugepages", NotANumber,
     "not an integer"},
    {"MalformedDistance", kIntelHugepages, "sys/devices/system/node/node1/distance", BadDistance,
     "'2x1' is not a distance"},
    {"ZeroDistance", kIntelHugepages, "sys/devices/system/node/node0/distance", ZeroDistance,
     "'0' is not a distance"},
    {"BackwardsIsolcpus", kIntelHugepages, "proc/cmdline", BackwardsIsolcpus, "runs backwards"},
    {"IsolcpusFlagsWithoutCpus", kIntelHugepages, "proc/cmdline", FlagsOnlyIsolcpus, "no CPU list"},
    // hwloc alone read these as a one-CPU host and carried on.
    {"CpuOnlineLetters", kIntelHugepages, "sys/devices/system/cpu/online", Letters,
     "'zzz' is not a CPU number"},
    {"CpuOnlineEmpty", kIntelHugepages, "sys/devices/system/cpu/online", Empty, "lists no CPU"},
    {"CpuOnlineListThenLetters", kIntelHugepages, "sys/devices/system/cpu/online", ListThenLetters,
     "'abc' is not a CPU number"},
    // A SLIT row needs one distance per node; an empty one dropped the matrix silently.
    {"DistanceWithTooManyColumns", kIntelHugepages, "sys/devices/system/node/node0/distance",
     ThreeColumns, "3 distances for 2 nodes"},
    {"DistanceEmpty", kIntelHugepages, "sys/devices/system/node/node1/distance", Empty,
     "empty: expected one distance per node"},
    // 4 Gi pages of 2 MiB on a node of a few GiB: capacity offered 768 GiB of guests.
    {"NodeHugepagesBeyondItsMemory", kIntelHugepages,
     "sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", FourGiPages,
     "4294967296 pages of 2048 kB do not fit in the node's MemTotal"},
    // Free pages are pages of the pool: no kernel counts more free than it holds.
    {"NodeFreeHugepagesBeyondItsMemory", kIntelHugepages,
     "sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", FourGiPages,
     "4294967296 free pages exceed the pool's 2048 + 0 surplus"},
    {"NodeFreeHugepagesAboveThePool", kIntelHugepages,
     "sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", OneAboveThePool,
     "2049 free pages exceed the pool's 2048 + 0 surplus"},
    // Was blamed on node0/cpulist ("CPU 7 is beyond kernel_max -5").
    {"KernelMaxNegative", kIntelHugepages, "sys/devices/system/cpu/kernel_max", MinusFive,
     "negative (-5)"},
    {"SysfsIsolatedGarbage", kPmemIsolated, "sys/devices/system/cpu/isolated", BadIsolated,
     "'x' is not a CPU number"},
};

class BadInput : public testing::TestWithParam<Corruption> {};

TEST_P(BadInput, IsAnInputErrorNamingTheFile) {
  const Corruption& c = GetParam();
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const fs::path root = CopyFixture(c.machine, tmp);
  const fs::path file = root / c.file;
  ASSERT_TRUE(fs::is_regular_file(file)) << "fixture lacks " << c.file;
  WriteFile(file, c.damage(root, file));
  ExpectRejected(root, file, c.reason);
}

INSTANTIATE_TEST_SUITE_P(Corruptions, BadInput, testing::ValuesIn(kCorruptions),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BadInputRoot, DirectoryWhereAFileShouldBeIsUnreadable) {
  // We run as root, so chmod cannot make a file unreadable; a directory in its
  // place is refused for not being a regular file.
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  const fs::path file = root / "sys/devices/system/node/node1/distance";
  fs::remove(file);
  fs::create_directory(file);
  ExpectRejected(root, file, "is a directory, not a regular file");
}

TEST(BadInputRoot, AHugepageCountMissingFromItsPoolIsAnInputError) {
  // Read as 0, a missing free count hid a whole pool from capacity.
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  const fs::path file =
      root / "sys/devices/system/node/node1/hugepages/hugepages-2048kB/free_hugepages";
  fs::remove(file);
  ExpectRejected(root, file, "missing");
}

TEST(BadInputRoot, MissingRootIsAnInputError) {
  TempDir tmp;
  const fs::path root = tmp.path() / "no-such-root";
  ExpectRejected(root, root, "not a directory");
}

TEST(BadInputRoot, RootWithoutSysfsIsAnInputError) {
  TempDir tmp;
  ExpectRejected(tmp.path(), tmp.path() / "sys/devices/system/cpu", "missing");
}

// Serializing a string field that is not UTF-8 makes libprotobuf log on its
// own ("[libprotobuf ERROR wire_format_lite.cc:618] ..."), past the agent's log
// format and level; its messages now go through the agent's log.
TEST(BadInputRoot, LibprotobufsOwnMessagesGoThroughTheAgentsLog) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  const fs::path cpuinfo = root / "proc/cpuinfo";
  std::string text = ReadFile(cpuinfo);
  const size_t model = text.find("model name\t: ");
  ASSERT_NE(model, std::string::npos);
  text.insert(model + 13, "\xff\xfe");
  WriteFile(cpuinfo, text);
  const auto run = RunAgent({"inspect", "--root", root.string(), "-o", "json"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err.find("[libprotobuf"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("error: libprotobuf: String field 'kvhost.v1.Topology.cpu_model' "
                         "contains invalid UTF-8"),
            std::string::npos)
      << run.err;
}

// --- never crash ------------------------------------------------------------

// Puts a file's original content back when the case is done.
class RestoreOnExit {
 public:
  explicit RestoreOnExit(fs::path file) : file_(std::move(file)), original_(ReadFile(file_)) {}
  ~RestoreOnExit() { std::ofstream(file_, std::ios::binary | std::ios::trunc) << original_; }
  RestoreOnExit(const RestoreOnExit&) = delete;
  RestoreOnExit& operator=(const RestoreOnExit&) = delete;
  const std::string& original() const { return original_; }

 private:
  fs::path file_;
  std::string original_;
};

// Half the time bytes of any value, half the time characters of kernel number
// syntax: near-valid text reaches deeper into the parsers than pure noise.
std::string RandomContent(std::mt19937& rng) {
  static constexpr char kSyntax[] = "0123456789,-:/ \nNkB\t";
  std::string text(1 + rng() % 96, '\0');
  const bool syntax_only = rng() % 2;
  for (char& ch : text)
    ch = syntax_only ? kSyntax[rng() % (sizeof kSyntax - 1)] : static_cast<char>(rng() % 256);
  return text;
}

std::vector<fs::path> RegularFiles(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && !e.is_symlink()) files.push_back(e.path());
  std::sort(files.begin(), files.end());  // iteration order is not stable; the sample must be
  return files;
}

// Every file outside cpu/cpuN/ (node, hugepage, proc, global cpu files) is
// damaged; of the thousands of near-identical per-CPU files, a fixed sample.
bool IsPerCpuFile(const fs::path& file) {
  const std::string s = file.string();
  const size_t at = s.find("/sys/devices/system/cpu/cpu");
  return at != std::string::npos && at + 27 < s.size() &&
         std::isdigit(static_cast<unsigned char>(s[at + 27]));
}

constexpr size_t kPerCpuSamplePerMachine = 150;

TEST(BadInputFuzz, NoFileContentCrashesDiscovery) {
  std::mt19937 rng(0x6b76686f);  // fixed: every run damages the same files the same way
  TempDir tmp;
  size_t cases = 0, returned = 0, input_errors = 0, other_errors = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const char* machine : {kIntelHugepages, kPmemIsolated}) {
    const fs::path root = CopyFixture(machine, tmp);
    std::vector<fs::path> targets, per_cpu;
    for (auto& f : RegularFiles(root)) (IsPerCpuFile(f) ? per_cpu : targets).push_back(f);
    std::shuffle(per_cpu.begin(), per_cpu.end(), rng);
    per_cpu.resize(std::min(per_cpu.size(), kPerCpuSamplePerMachine));
    targets.insert(targets.end(), per_cpu.begin(), per_cpu.end());

    for (const auto& file : targets) {
      const RestoreOnExit restore(file);
      const std::string& original = restore.original();
      const std::string variants[] = {RandomContent(rng), "",
                                      original.substr(0, original.size() / 2)};
      for (const auto& content : variants) {
        std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
        ++cases;
        // A crash (signal) here fails the whole test binary: that is the detection.
        try {
          DiscoverHost(root);
          ++returned;
        } catch (const InputError&) {
          ++input_errors;
        } catch (const std::exception&) {
          ++other_errors;
        }
      }
    }
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << cases << " damaged roots in " << seconds << " s: " << returned << " returned, "
            << input_errors << " InputError, " << other_errors << " other exceptions\n";
  EXPECT_GT(cases, 1000u);
  EXPECT_GT(input_errors, 0u) << "no damage was ever detected";
}

}  // namespace
}  // namespace kvhost
