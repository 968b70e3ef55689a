#include "bench/attack_support.h"

#include <cmath>
#include <cstdlib>
#include <regex>

namespace kvhost::bench {

using namespace std::chrono_literals;

double Percentile(std::vector<double> samples, double fraction) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<size_t>(std::ceil(fraction * static_cast<double>(samples.size())));
  return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
}

bool AttackResult::Check(bool ok, const std::string& what) {
  if (ok) return true;
  held = false;
  failures += (failures.empty() ? "" : "; ") + what;
  return false;
}

FileLimit::FileLimit() {
  getrlimit(RLIMIT_NOFILE, &original_);
  raised_ = original_;
  raised_.rlim_cur = original_.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &raised_) != 0) raised_ = original_;
}

FileLimit::~FileLimit() { setrlimit(RLIMIT_NOFILE, &original_); }

// Lowering the soft limit below descriptors already open is allowed; only new
// opens above it would fail, and none happen while a child is spawned.
FileLimit::ForChild::ForChild(const FileLimit& limit) : limit_(limit) {
  setrlimit(RLIMIT_NOFILE, &limit_.original_);
}

FileLimit::ForChild::~ForChild() { setrlimit(RLIMIT_NOFILE, &limit_.raised_); }

namespace {

// valgrind from PATH; empty when it is not installed.
fs::path FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t from = 0; from <= dirs.size();) {
    const size_t to = std::min(dirs.find(':', from), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(from, to - from)) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    from = to + 1;
  }
  return {};
}

// The one fixture machine at `root`: copied from a directory of machines, or
// only it taken out of the tarball (all twelve take half a minute on a slow disk).
void PlaceFixture(const fs::path& fixtures, const fs::path& scratch, const fs::path& root) {
  if (fs::is_directory(fixtures)) {
    fs::copy(fixtures / AttackTarget::kFixture, root, fs::copy_options::recursive);
    return;
  }
  const it::RunResult tar = it::RunProcess(
      {"/bin/tar", "-xzf", fixtures.string(), "-C", scratch.string(), AttackTarget::kFixture});
  if (!tar.end.Exited(0))
    throw std::runtime_error("tar -xzf " + fixtures.string() + ": " + tar.Describe());
  fs::rename(scratch / AttackTarget::kFixture, root);
}

}  // namespace

AttackTarget::AttackTarget(const fs::path& fixtures, const AttackOptions& options,
                           const FileLimit& limit)
    : options_(options), limit_(limit) {
  if (options_.valgrind && FindOnPath("valgrind").empty())
    throw std::runtime_error("--valgrind: valgrind is not installed (apt-get install valgrind)");
  PlaceFixture(fixtures, w(), root());
  for (unsigned node = 0; node < kNodes; ++node) {
    WriteText(pool(node) / "nr_hugepages", std::to_string(kPagesPerNode) + "\n");
    SetFreePages(node, kPagesPerNode);
  }
  for (const char* dir : {"nfd", "state", "run"}) fs::create_directories(w() / dir);
  port_ = it::FreeLoopbackPort();
  WriteConfig(ValidConfig());
  notify_ = std::make_unique<NotifySocket>(w() / "notify.sock");
}

AttackTarget::~AttackTarget() {
  if (daemon_ && !daemon_->WaitFor(0ms)) daemon_->Stop(SIGTERM);
}

fs::path AttackTarget::pool(unsigned node) const {
  return root() /
         ("sys/devices/system/node/node" + std::to_string(node) + "/hugepages/hugepages-2048kB");
}

std::string AttackTarget::ValidConfig() const {
  return "refreshInterval: 1s\nfeatureFile: " + features().string() +
         "\nnrtFile: " + nrt().string() + "\napiListen: 127.0.0.1:" + std::to_string(port_) +
         "\ncontrolSocket: " + control_socket().string() + "\nnodeName: attack-node\n";
}

void AttackTarget::SetFreePages(unsigned node, unsigned pages) const {
  WriteText(pool(node) / "free_hugepages", std::to_string(pages) + "\n");
}

std::vector<std::string> AttackTarget::Argv() const {
  std::vector<std::string> argv;
  if (options_.valgrind)
    argv = {FindOnPath("valgrind").string(), "--error-exitcode=97", "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--log-file=" + (w() / ("valgrind-" + std::to_string(starts_) + ".log")).string()};
  const std::vector<std::string> run{options_.agent.string(),
                                     "--log-level",
                                     "info",
                                     "run",
                                     "--root",
                                     root().string(),
                                     "--config",
                                     config().string(),
                                     "--connect",
                                     "test:///default",
                                     "--state-dir",
                                     state_dir().string()};
  argv.insert(argv.end(), run.begin(), run.end());
  return argv;
}

size_t AttackTarget::ReadyCount() {
  size_t ready = 0;
  for (const auto& m : notify_->Messages()) ready += m.find("READY=1") != std::string::npos;
  return ready;
}

double AttackTarget::Start() {
  if (daemon_ && !daemon_->WaitFor(0ms)) throw std::runtime_error("the daemon is running already");
  const size_t ready_before = ReadyCount();
  ++starts_;
  Stopwatch watch;
  {
    FileLimit::ForChild child_limit(limit_);
    daemon_ = std::make_unique<ChildProcess>(Argv(), std::vector<std::string>{notify_->Env()},
                                             w() / "agent.out", LogPath(starts_));
  }
  // 1 ms polls: the time to READY=1 is a figure (attack 10).
  const bool ready = WaitFor([&] { return ReadyCount() > ready_before || !Alive(); }, Bound(30s),
                             std::chrono::milliseconds(1));
  const double ms = watch.ElapsedMs();
  if (!ready || !Alive())
    throw std::runtime_error("the daemon did not reach READY=1 (start " + std::to_string(starts_) +
                             "):\n" + Log());
  return ms;
}

void AttackTarget::Kill() {
  if (daemon_) daemon_->Stop(SIGKILL);
}

ProcessEnd AttackTarget::Stop() {
  if (!daemon_) throw std::runtime_error("the daemon was never started");
  return daemon_->Stop(SIGTERM);
}

bool AttackTarget::Alive() { return daemon_ && !daemon_->WaitFor(0ms).has_value(); }

bool AttackTarget::Healthy() {
  return Alive() && Get("/healthz").find("200 OK") != std::string::npos;
}

pid_t AttackTarget::pid() const { return daemon_ ? daemon_->pid() : -1; }

double AttackTarget::StatusMib(const std::string& field) const {
  const std::string status = ReadFile("/proc/" + std::to_string(pid()) + "/status");
  const auto at = status.find("\n" + field + ":");
  return at == std::string::npos ? 0 : std::stod(status.substr(at + field.size() + 2)) / 1024.0;
}

std::string AttackTarget::Log() const { return ReadFile(LogPath(starts_)); }

std::string AttackTarget::AllLogs() const {
  std::string all;
  for (int start = 1; start <= starts_; ++start) all += ReadFile(LogPath(start));
  return all;
}

size_t AttackTarget::LogCount(const std::string& part) const {
  const std::string log = Log();
  size_t count = 0;
  for (size_t at = log.find(part); at != std::string::npos; at = log.find(part, at + 1)) ++count;
  return count;
}

bool AttackTarget::WaitForLog(const std::string& part, size_t count,
                              std::chrono::milliseconds within) {
  return WaitFor([&] { return LogCount(part) >= count; }, Bound(within), 10ms);
}

std::string AttackTarget::Get(const std::string& target) const {
  return it::HttpGetWithin(port_, target, Bound(2s));
}

std::string AttackTarget::Metric(const std::string& series) const {
  const std::string metrics = Get("/metrics");
  const auto at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  const auto start = at + series.size() + 2;
  return metrics.substr(start, metrics.find('\n', start) - start);
}

long AttackTarget::ValgrindErrors() const {
  long errors = 0;
  const std::regex summary("ERROR SUMMARY: ([0-9]+) errors");
  // A start ended by SIGKILL writes no summary: its errors are counted as printed.
  const std::regex error_head(
      "==[0-9]+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched "
      "free|Source and destination overlap)");
  for (int start = 1; start <= starts_; ++start) {
    const std::string log = ReadFile(w() / ("valgrind-" + std::to_string(start) + ".log"));
    std::smatch match;
    if (std::regex_search(log, match, summary))
      errors += std::stol(match[1]);
    else
      errors += std::distance(std::sregex_iterator(log.begin(), log.end(), error_head),
                              std::sregex_iterator());
  }
  return errors;
}

void AttackTarget::CopyLogs(const fs::path& dir) const {
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(w())) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".err") || name.ends_with(".log"))
      fs::copy_file(entry.path(), dir / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace kvhost::bench
