// bench/daemon_attack's target and its bookkeeping: `kvhost-agent run` as a
// child (started as the daemon tests start it: a NOTIFY_SOCKET the bench binds,
// READY=1 awaited), on a copy of the 4-node fixture with 512 2 MiB pages per
// node, its outputs in a private work dir W that is removed at exit. Every
// wait is bounded; the daemon is stopped when the target goes out of scope.
#pragma once

#include <sys/resource.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "tests/daemon_support.h"

namespace kvhost::bench {

namespace fs = std::filesystem;
using it::ChildProcess;
using it::NotifySocket;
using it::ProcessEnd;
using it::ReadFile;
using it::WriteText;

// The fraction-th sample (0.99: p99) by rank, nearest-rank method; 0 for none.
double Percentile(std::vector<double> samples, double fraction);

// Latencies in milliseconds of probes that were answered, and how many were not.
struct Latencies {
  std::vector<double> ms;
  size_t failures = 0;
  double Median() const { return bench::Median(ms); }
  double P99() const { return Percentile(ms, 0.99); }
};

struct Figure {
  std::string name;  // "healthz_p99_ms": unit in the name, so runs can be compared by key
  double value = 0;
  int decimals = 2;
};

// What one attack found: whether everything it checks held, the figures, and
// (when something did not hold) what, in words.
struct AttackResult {
  AttackResult(int n, std::string title) : number(n), name(std::move(title)) {}

  int number = 0;
  std::string name;
  bool held = true;
  std::string skipped;  // why the attack could not run here; empty when it ran
  std::vector<Figure> figures;
  std::string failures;  // "; "-separated, empty when held

  void Add(const std::string& figure, double value, int decimals = 2) {
    figures.push_back({figure, value, decimals});
  }
  // Records a check; `what` says what should have held.
  bool Check(bool ok, const std::string& what);
};

struct AttackOptions {
  fs::path agent;
  bool valgrind = false;  // the daemon under valgrind's memcheck
  // Every wait is multiplied by it: valgrind runs the daemon 10-50 times slower.
  int slowness = 1;
};

// RLIMIT_NOFILE: the bench raises its soft limit to the hard one (2,000 idle
// connections), while the daemon starts with the soft limit the bench had, as
// systemd gives a service its default, so no attack is eased by the bench's own.
class FileLimit {
 public:
  FileLimit();
  ~FileLimit();
  FileLimit(const FileLimit&) = delete;
  FileLimit& operator=(const FileLimit&) = delete;
  rlim_t raised() const { return raised_.rlim_cur; }
  // The original soft limit while a child is spawned.
  class ForChild {
   public:
    explicit ForChild(const FileLimit& limit);
    ~ForChild();
    ForChild(const ForChild&) = delete;
    ForChild& operator=(const ForChild&) = delete;

   private:
    const FileLimit& limit_;
  };

 private:
  rlimit original_{};
  rlimit raised_{};
};

class AttackTarget {
 public:
  static constexpr char kFixture[] = "hwloc-16amd64-4n4c-hugepages";
  static constexpr unsigned kNodes = 4;
  static constexpr unsigned kPagesPerNode = 512;

  // `fixtures`: a directory of unpacked machines, or the tests' tarball.
  AttackTarget(const fs::path& fixtures, const AttackOptions& options, const FileLimit& limit);
  ~AttackTarget();
  AttackTarget(const AttackTarget&) = delete;
  AttackTarget& operator=(const AttackTarget&) = delete;

  // Starts (or, after Kill, restarts) the daemon; the milliseconds from the
  // spawn to READY=1. Throws when it ends or is not ready in time.
  double Start();
  void Kill();        // SIGKILL, reaped
  ProcessEnd Stop();  // SIGTERM, reaped (SIGKILL after 15 s)
  bool Alive();       // still running (not ended)
  bool Healthy();     // alive and /healthz answers 200
  pid_t pid() const;
  int starts() const { return starts_; }
  const AttackOptions& options() const { return options_; }
  std::chrono::milliseconds Bound(std::chrono::milliseconds at_full_speed) const {
    return at_full_speed * options_.slowness;
  }

  const fs::path& w() const { return scratch_.path(); }
  fs::path root() const { return w() / "root"; }
  fs::path features() const { return w() / "nfd/kvhost-agent"; }
  fs::path nrt() const { return w() / "state/nrt.yaml"; }
  fs::path state_dir() const { return w() / "state"; }
  fs::path control_socket() const { return w() / "run/control.sock"; }
  fs::path config() const { return w() / "config.yaml"; }
  fs::path pool(unsigned node) const;
  unsigned short port() const { return port_; }

  std::string ValidConfig() const;
  void WriteConfig(const std::string& text) const { WriteText(config(), text); }
  void SetFreePages(unsigned node, unsigned pages) const;

  double RssMib() const { return StatusMib("VmRSS"); }
  // RssAnon: the heap and stacks, without the file pages start-up gives back
  // and the idle loop maps again, which make VmRSS swing by a few MiB.
  double AnonMib() const { return StatusMib("RssAnon"); }
  std::string Log() const;                         // stderr of the current start
  std::string AllLogs() const;                     // stderr of every start so far
  size_t LogCount(const std::string& part) const;  // in the current start's log
  // Waits until the current log holds `part` at least `count` times.
  bool WaitForLog(const std::string& part, size_t count, std::chrono::milliseconds within);
  // An HTTP GET (Connection: close) on the daemon's port; "" on no whole answer.
  std::string Get(const std::string& target) const;
  // The value of the first /metrics line that starts with `series` ("" if none).
  std::string Metric(const std::string& series) const;
  // The errors of every valgrind log: its ERROR SUMMARY, or (a start ended by
  // SIGKILL writes none) the error reports it holds.
  long ValgrindErrors() const;
  // Copies the daemon's and valgrind's logs of every start into `dir`.
  void CopyLogs(const fs::path& dir) const;

 private:
  double StatusMib(const std::string& field) const;  // of /proc/PID/status, 0 when gone
  std::vector<std::string> Argv() const;
  fs::path LogPath(int start) const { return w() / ("agent-" + std::to_string(start) + ".err"); }
  size_t ReadyCount();

  AttackOptions options_;
  const FileLimit& limit_;
  TempDir scratch_{"kvhost-attack-"};
  unsigned short port_ = 0;
  std::unique_ptr<NotifySocket> notify_;
  std::unique_ptr<ChildProcess> daemon_;
  int starts_ = 0;
};

// Polls done() every `step` until it holds or `within` passes; done()'s last answer.
template <class Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds within,
             std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(step);
  }
  return true;
}

}  // namespace kvhost::bench
