// bench/daemon_attack: issue 21's attack list on a running `kvhost-agent run`,
// one line per attack (what held, and its figures), then a summary table.
//
//   bench/daemon_attack [--agent PATH] [--only 2,5] [--valgrind] [--logs DIR]
//                       [--fixtures DIR|TARBALL]
//
// The daemon runs on a copy of the fixture hwloc-16amd64-4n4c-hugepages with
// 512 2 MiB pages per node, `--connect test:///default`, refreshInterval 1s and
// its outputs in a private temp dir (docs/daemon-attacks.md). Latencies are
// medians and p99 of loopback requests, with ratios to the idle baseline
// measured just before each attack in the same run: the machine is shared and noisy, so
// only ratios and counts are compared across runs. Needs root (tmpfs mounts,
// setuid to nobody); exits 1 when anything did not hold.
#include <cstdio>
#include <set>
#include <sstream>

#include "bench/attacks.h"

using namespace kvhost::bench;

namespace {

struct Flags {
  AttackOptions attack;
  std::set<int> only;  // empty: every attack
  fs::path logs;       // where the daemon's logs are kept; empty: removed with the temp dir
};

std::set<int> ParseOnly(const std::string& list) {
  std::set<int> numbers;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    numbers.insert(static_cast<int>(ParseCount(item, "--only", 1, 12)));
  return numbers;
}

std::string FormatFigures(const AttackResult& r) {
  std::string text;
  for (const Figure& f : r.figures) {
    char value[64];
    std::snprintf(value, sizeof value, "%.*f", f.decimals, f.value);
    text += (text.empty() ? "" : " ") + f.name + "=" + value;
  }
  return text;
}

const char* Verdict(const AttackResult& r) {
  if (!r.skipped.empty()) return "SKIP";
  return r.held ? "PASS" : "FAIL";
}

void PrintLine(const AttackResult& r) {
  std::printf("%-4s %2d %-30s %s\n", Verdict(r), r.number, r.name.c_str(),
              FormatFigures(r).c_str());
  if (!r.skipped.empty()) std::printf("          skipped: %s\n", r.skipped.c_str());
  if (!r.failures.empty()) std::printf("          did not hold: %s\n", r.failures.c_str());
  std::fflush(stdout);
}

void PrintSummary(const std::vector<AttackResult>& results) {
  std::printf("\n| # | attack | held | figures |\n|---|---|---|---|\n");
  for (const AttackResult& r : results)
    std::printf(
        "| %d | %s | %s | %s |\n", r.number, r.name.c_str(), Verdict(r),
        (FormatFigures(r) + (r.failures.empty() ? "" : " (did not hold: " + r.failures + ")"))
            .c_str());
}

// One attack, whatever it throws; a daemon it left dead is reported and
// started again, so the attacks after it still run.
AttackResult RunOne(const Attack& attack, AttackTarget& target) {
  AttackResult result(attack.number, attack.name);
  Stopwatch watch;
  try {
    result = attack.run(target);
  } catch (const std::exception& e) {
    result.Check(false, std::string("threw: ") + e.what());
  }
  result.Add("took_s", watch.ElapsedMs() / 1000, 1);
  if (!target.Alive()) {
    result.Check(false, "the daemon died");
    std::fprintf(stderr, "daemon_attack: the daemon died in attack %d; its log:\n%s\n",
                 attack.number, target.Log().c_str());
    target.Start();
  }
  return result;
}

// The clean stop at the end, and valgrind's verdict over every start.
AttackResult Finish(AttackTarget& target) {
  AttackResult r(13, "SIGTERM at the end");
  const auto end = target.Stop();
  r.Check(end.Exited(0), "exited 0 on SIGTERM (" + end.Describe() + ")");
  if (target.options().valgrind) {
    r.name = "SIGTERM at the end, valgrind";
    const long errors = target.ValgrindErrors();
    r.Add("valgrind_errors", static_cast<double>(errors), 0);
    r.Check(errors == 0, "valgrind: no error in any start (--logs DIR keeps its logs)");
  }
  return r;
}

int Run(const Flags& flags, const BenchOptions& opt) {
  FileLimit limit;
  // A directory of machines as given, else the tarball: --fixtures TARBALL is --tarball.
  const fs::path fixtures = !opt.fixtures.empty() ? opt.fixtures : opt.tarball;
  AttackTarget target(fixtures, flags.attack, limit);
  std::printf("daemon_attack: %s on a copy of %s in %s; RLIMIT_NOFILE %lu for the bench%s\n",
              flags.attack.agent.c_str(), AttackTarget::kFixture, target.w().c_str(),
              static_cast<unsigned long>(limit.raised()),
              flags.attack.valgrind ? "; the daemon under valgrind" : "");
  const double first_ready_ms = target.Start();
  std::vector<AttackResult> results;
  results.push_back(MeasureBaseline(target));
  results.back().Add("first_ready_ms", first_ready_ms, 0);
  PrintLine(results.back());
  for (const Attack& attack : kAttacks) {
    if (!flags.only.empty() && !flags.only.count(attack.number)) continue;
    results.push_back(RunOne(attack, target));
    PrintLine(results.back());
  }
  results.push_back(Finish(target));
  if (!flags.logs.empty()) target.CopyLogs(flags.logs);
  PrintLine(results.back());
  PrintSummary(results);
  const bool all_held =
      std::all_of(results.begin(), results.end(), [](const AttackResult& r) { return r.held; });
  return all_held ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Flags flags;
    flags.attack.agent =
        fs::canonical("/proc/self/exe").parent_path().parent_path() / "kvhost-agent";
    BenchOptions opt;
    ArgSpec spec{
        .timed = false, .only_help = "attack numbers to run, e.g. 2,5 (default: all)", .extra = {}};
    spec.extra.push_back({"--agent", "PATH", "the kvhost-agent binary (default ../kvhost-agent)",
                          [&](const std::string& v) { flags.attack.agent = v; }});
    spec.extra.push_back({"--logs", "DIR", "keep the daemon's (and valgrind's) logs in DIR",
                          [&](const std::string& v) { flags.logs = v; }});
    spec.extra.push_back(
        {"--valgrind", "", "run the daemon under valgrind's memcheck", [&](const std::string&) {
           flags.attack.valgrind = true;
           flags.attack.slowness = 20;
         }});
    ParseBenchArgs(argc, argv, spec, opt);
    if (opt.only) flags.only = ParseOnly(*opt.only);
    if (geteuid() != 0) throw std::runtime_error("run as root (tmpfs mounts, setuid to nobody)");
    return Run(flags, opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "daemon_attack: %s\n", e.what());
    return 1;
  }
}
