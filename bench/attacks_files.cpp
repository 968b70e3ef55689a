// Attacks 8, 9 and 12: the daemon's output files and the files its refresh
// re-reads, damaged under it.
#include <sys/mount.h>
#include <sys/stat.h>

#include <functional>
#include <optional>
#include <sstream>

#include "bench/attacks.h"

namespace kvhost::bench {

using namespace std::chrono_literals;

namespace {

constexpr auto npos = std::string::npos;
constexpr char kLargestBlock[] = "kvhost.cozystack.io/hugepages-2Mi.largest-free-block=";
constexpr char kNode0Free[] =
    "kvhost_numa_node_hugepages_free_bytes{numa_node=\"0\",page_size_bytes=\"2097152\"}";

// The labels of the feature file, without its expiry comment (which a rewrite bumps).
std::string LabelLines(const fs::path& file) {
  std::string labels;
  std::istringstream text(ReadFile(file));
  for (std::string line; std::getline(text, line);)
    if (!line.empty() && line[0] != '#') labels += line + "\n";
  return labels;
}

bool IsRegularFile(const fs::path& path) {
  struct stat info {};
  return lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

void SetAllFreePages(const AttackTarget& target, unsigned pages) {
  for (unsigned node = 0; node < AttackTarget::kNodes; ++node) target.SetFreePages(node, pages);
}

// Waits until the feature file's largest free block label reads `block`.
bool WaitForLargestBlock(AttackTarget& target, const std::string& block,
                         std::chrono::milliseconds within) {
  return WaitFor(
      [&] { return ReadFile(target.features()).find(kLargestBlock + block + "\n") != npos; },
      target.Bound(within), 10ms);
}

}  // namespace

// Expected (base/atomic_file.h): a rename replaces the link itself, so the
// file it pointed to is never written; the temp name is unlinked before an
// O_EXCL create, so a link planted there is not followed either.

// Every file attack ends so: the pools as at the start, the labels following
// them again, the memory figures, and the daemon still serving.
static AttackResult RestorePoolsAndCheck(AttackTarget& target, AttackResult& r) {
  SetAllFreePages(target, AttackTarget::kPagesPerNode);
  r.Check(WaitForLargestBlock(target, "1Gi", 5s), "the labels follow the pools again");
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

AttackResult AttackSymlinkedOutputs(AttackTarget& target) {
  AttackResult r(8, "symlinked output files");
  const fs::path elsewhere = target.w() / "not-the-daemons";
  fs::create_directories(elsewhere);
  const struct {
    fs::path link;
    fs::path victim;
  } planted[] = {
      {target.features(), elsewhere / "passwd"},
      {target.w() / "nfd/.kvhost-agent.tmp", elsewhere / "group"},
      {target.nrt(), elsewhere / "shadow"},
      {target.state_dir() / ".nrt.yaml.tmp", elsewhere / "gshadow"},
      {target.state_dir() / "state.pb", elsewhere / "sudoers"},
  };
  const std::string victim_text = "root:x:0:0:root:/root:/bin/bash\n";
  for (const auto& p : planted) {
    WriteText(p.victim, victim_text);
    fs::remove(p.link);
    fs::create_symlink(p.victim, p.link);
  }
  SetAllFreePages(target, 400);  // a label and the NRT change: both files are written
  const std::string reconcile = ReconcileThroughControlSocket(target);  // reads state.pb
  r.Check(reconcile.empty(), "the reconcile that reads state.pb succeeded (" + reconcile + ")");
  Stopwatch watch;
  r.Check(WaitForLargestBlock(target, "800Mi", 5s), "the new labels published");
  r.Check(WaitFor([&] { return IsRegularFile(target.features()) && IsRegularFile(target.nrt()); },
                  target.Bound(5s)),
          "the feature and NRT files regular files again");
  r.Add("replaced_after_ms", watch.ElapsedMs(), 0);
  size_t intact = 0;
  for (const auto& p : planted) {
    const bool unchanged = ReadFile(p.victim) == victim_text;
    intact += unchanged;
    r.Check(unchanged, p.victim.filename().string() + " (behind " + p.link.filename().string() +
                           ") unchanged");
  }
  r.Add("victims_unchanged", static_cast<double>(intact), 0);
  r.Check(!fs::is_symlink(target.state_dir() / "state.pb"), "state.pb is no longer the symlink");
  r.Check(target.LogCount("is a symlink") + target.LogCount("corrupt") > 0,
          "the log names a replaced file");
  return RestorePoolsAndCheck(target, r);
}

namespace {

// A 64 KiB tmpfs over a directory for as long as this lives (needs CAP_SYS_ADMIN).
class SmallTmpfs {
 public:
  explicit SmallTmpfs(fs::path dir) : dir_(std::move(dir)) {
    mounted_ = mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=64k") == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  bool Remount(bool read_only) const {
    const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return mount("tmpfs", dir_.c_str(), "tmpfs", flags, "size=64k") == 0;
  }
  // Writes a filler file until the file system refuses (ENOSPC).
  void Fill() const {
    std::FILE* f = std::fopen((dir_ / "filler").c_str(), "w");
    if (!f) return;
    std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  void Empty() const { fs::remove(dir_ / "filler"); }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

// One fault: the error it must log, then the repair, timed to the labels coming back.
void ExpectErrorThenRecovery(AttackTarget& target, AttackResult& r, const std::string& name,
                             const std::string& error, const std::function<void()>& repair,
                             const std::string& block) {
  const size_t before = target.LogCount(error);
  r.Check(target.WaitForLog(error, before + 1, 5s), name + ": '" + error + "' logged");
  Stopwatch span;
  const size_t at_start = target.LogCount(error);
  std::this_thread::sleep_for(3s);  // how often it says so while it lasts
  r.Add(name + "_errors_per_s", static_cast<double>(target.LogCount(error) - at_start) / 3, 1);
  r.Check(target.Healthy(), name + ": /healthz 200 while the disk refuses");
  repair();
  Stopwatch watch;
  r.Check(WaitForLargestBlock(target, block, 10s), name + ": the labels written once it is fixed");
  r.Add(name + "_recovered_ms", watch.ElapsedMs(), 0);
}

}  // namespace

AttackResult AttackFullAndReadOnlyFs(AttackTarget& target) {
  AttackResult r(9, "full / read-only output fs");
  SmallTmpfs fs_under_nfd(target.features().parent_path());
  if (!fs_under_nfd.mounted()) {
    r.skipped = "mounting a tmpfs needs CAP_SYS_ADMIN";
    return r;
  }
  // The feature file is not on the new file system: the next publish writes it.
  fs_under_nfd.Fill();
  ExpectErrorThenRecovery(
      target, r, "full", "No space left on device", [&] { fs_under_nfd.Empty(); }, "1Gi");
  r.Check(fs_under_nfd.Remount(true), "remounted read-only");
  SetAllFreePages(target, 400);  // a label changes: the file must be written
  ExpectErrorThenRecovery(
      target, r, "readonly", "Read-only file system",
      [&] { r.Check(fs_under_nfd.Remount(false), "remounted read-write"); }, "800Mi");
  return RestorePoolsAndCheck(target, r);
}

namespace {

struct Garbage {
  const char* name;
  fs::path file;                    // under the root
  std::optional<std::string> text;  // nullopt: the file deleted
};

std::vector<Garbage> GarbageCases(const AttackTarget& target) {
  const fs::path free = fs::relative(target.pool(0) / "free_hugepages", target.root());
  const fs::path total = fs::relative(target.pool(0) / "nr_hugepages", target.root());
  const fs::path isolated = "sys/devices/system/cpu/isolated";
  return {
      {"free: text", free, "banana\n"},
      {"free: 2^64 and more", free, "99999999999999999999999\n"},
      {"free: negative", free, "-5\n"},
      {"free: empty", free, ""},
      {"free: over the pool", free, "600\n"},
      {"free: binary", free, std::string("\xff\xfe\0\x01", 4)},
      {"free: deleted", free, std::nullopt},
      {"total: text", total, "lots\n"},
      {"isolated: text", isolated, "garbage\n"},
      {"isolated: past any CPU id", isolated, "0-4294967295\n"},
      {"isolated: binary", isolated, std::string("\xff\xfe\0\x01", 4)},
  };
}

}  // namespace

// Each damaged file must be refused at the refresh, named in an error, and
// the last good report kept (labels and metrics); a good value is read again.
AttackResult AttackRefreshGarbage(AttackTarget& target) {
  AttackResult r(12, "garbage in refreshed files");
  const std::string labels = LabelLines(target.features());
  const std::string node0_free = target.Metric(kNode0Free);
  r.Check(node0_free == "1073741824", "node0 reports 512 free 2 MiB pages (" + node0_free + ")");
  size_t refused = 0, kept = 0;
  for (const Garbage& g : GarbageCases(target)) {
    const fs::path file = target.root() / g.file;
    const std::optional<std::string> good =
        fs::exists(file) ? std::optional<std::string>(ReadFile(file)) : std::nullopt;
    const size_t errors = target.LogCount("error: refresh: ");
    if (g.text)
      WriteText(file, *g.text);
    else
      fs::remove(file);
    const bool logged = target.WaitForLog("error: refresh: ", errors + 1, 5s);
    refused += logged;
    r.Check(logged, std::string(g.name) + ": refused with an error at the refresh");
    const bool same =
        target.Metric(kNode0Free) == node0_free && LabelLines(target.features()) == labels;
    kept += same;
    r.Check(same, std::string(g.name) + ": the last good labels and metrics kept");
    r.Check(target.Healthy(), std::string(g.name) + ": /healthz 200");
    if (good)
      WriteText(file, *good);
    else
      fs::remove(file);
    // Past the next refresh: no error of this case is counted for the next.
    std::this_thread::sleep_for(1200ms);
  }
  r.Add("refused_and_logged", static_cast<double>(refused), 0);
  r.Add("last_good_kept", static_cast<double>(kept), 0);
  target.SetFreePages(0, 256);
  r.Check(WaitFor([&] { return target.Metric(kNode0Free) == "536870912"; }, target.Bound(5s)),
          "a good count (256) is read again");
  target.SetFreePages(0, AttackTarget::kPagesPerNode);
  r.Check(WaitFor([&] { return LabelLines(target.features()) == labels; }, target.Bound(5s)),
          "the labels back as before");
  AddMemory(target, r, "after");
  CheckStillServing(target, r);
  return r;
}

}  // namespace kvhost::bench
