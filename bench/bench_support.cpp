#include "bench/bench_support.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

extern char** environ;

#ifndef KVHOST_FIXTURES_TARBALL
#error "KVHOST_FIXTURES_TARBALL must be set by bench/CMakeLists.txt"
#endif

namespace fs = std::filesystem;

namespace kvhost::bench {

double Median(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

void Untar(const fs::path& tarball, const fs::path& into) {
  if (!fs::is_regular_file(tarball))
    throw std::runtime_error(tarball.string() + ": no such tarball");
  std::string t = tarball.string(), d = into.string();
  char* args[] = {const_cast<char*>("tar"),
                  const_cast<char*>("-xzf"),
                  t.data(),
                  const_cast<char*>("-C"),
                  d.data(),
                  nullptr};
  pid_t pid = 0;
  if (int rc = ::posix_spawnp(&pid, "tar", nullptr, nullptr, args, environ); rc != 0)
    throw std::runtime_error(std::string("cannot run tar: ") + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("tar -xzf " + t + " failed");
}

FixtureMachines::FixtureMachines(const fs::path& dir, const fs::path& tarball) {
  if (!dir.empty()) {
    if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
    root_ = dir;
    return;
  }
  unpacked_ = std::make_unique<TempDir>();
  Untar(tarball, unpacked_->path());
  root_ = unpacked_->path();
}

std::vector<Machine> ListMachines(const fs::path& dir) {
  std::vector<Machine> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::is_directory(e.path() / "sys"))
      out.push_back({e.path().filename().string(), e.path()});
  std::sort(out.begin(), out.end(),
            [](const Machine& a, const Machine& b) { return a.name < b.name; });
  return out;
}

namespace {
volatile size_t g_sink = 0;
}  // namespace

void Consume(size_t value) { g_sink = g_sink + value; }

long ParseCount(const std::string& text, const std::string& what, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno || end == text.c_str() || *end || v < min || v > max)
    throw std::runtime_error(what + ": '" + text + "' is not a count in [" + std::to_string(min) +
                             ", " + std::to_string(max) + "]");
  return v;
}

double ParsePositive(const std::string& text, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (errno || end == text.c_str() || *end || !(v > 0))
    throw std::runtime_error(what + ": '" + text + "' is not a positive number");
  return v;
}

fs::path DefaultTarball() { return KVHOST_FIXTURES_TARBALL; }

namespace {

// Built from the same table the parser accepts, so every program's help lists
// exactly its flags, and the common ones read the same in every bench.
[[noreturn]] void Usage(const char* argv0, int status, const ArgSpec& spec,
                        const BenchOptions& defaults) {
  std::vector<std::pair<std::string, std::string>> flags;  // "--seed N", help
  for (const auto& f : spec.extra)
    flags.emplace_back(f.value.empty() ? f.name : f.name + " " + f.value, f.help);
  if (spec.timed) {
    flags.emplace_back(
        "--rounds N", "timed rounds per machine (default " + std::to_string(defaults.rounds) + ")");
    flags.emplace_back("--warmup N", "untimed rounds per machine first (default " +
                                         std::to_string(defaults.warmup) + ")");
  }
  flags.emplace_back("--only NAME", spec.only_help);
  flags.emplace_back("--fixtures DIR", "machine dirs already unpacked (default: unpack --tarball)");
  flags.emplace_back("--tarball FILE", "fixture machines (default: the tests' topologies.tar.gz)");

  FILE* out = status ? stderr : stdout;
  // The synopsis wraps at 80 columns: packing's flags do not fit on one line.
  std::string line = std::string("usage: ") + argv0;
  size_t width = 0;
  for (const auto& [flag, help] : flags) {
    if (line.size() + flag.size() + 3 > 80) {
      std::fprintf(out, "%s\n", line.c_str());
      line = std::string(10, ' ');
    } else {
      line += ' ';
    }
    line += "[" + flag + "]";
    width = std::max(width, flag.size());
  }
  std::fprintf(out, "%s\n", line.c_str());
  for (const auto& [flag, help] : flags)
    std::fprintf(out, "  %-*s  %s\n", static_cast<int>(width), flag.c_str(), help.c_str());
  std::exit(status);
}

}  // namespace

void ParseBenchArgs(int argc, char** argv, const ArgSpec& spec, BenchOptions& opt) {
  const BenchOptions defaults = opt;  // the usage shows these, not what was parsed so far
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") Usage(argv[0], 0, spec, defaults);
    const auto extra = std::find_if(spec.extra.begin(), spec.extra.end(),
                                    [&](const ExtraFlag& f) { return f.name == a; });
    if (extra != spec.extra.end() && extra->value.empty()) {
      extra->apply("");
      continue;
    }
    if (i + 1 >= argc) Usage(argv[0], 2, spec, defaults);
    const std::string v = argv[++i];
    if (extra != spec.extra.end())
      extra->apply(v);
    else if (spec.timed && a == "--rounds")
      opt.rounds = static_cast<int>(ParseCount(v, "--rounds", 1, 100000));
    else if (spec.timed && a == "--warmup")
      opt.warmup = static_cast<int>(ParseCount(v, "--warmup", 0, 100000));
    else if (a == "--only")
      opt.only = v;
    else if (a == "--fixtures")
      opt.fixtures = v;
    else if (a == "--tarball")
      opt.tarball = v;
    else
      Usage(argv[0], 2, spec, defaults);
  }
}

std::vector<Machine> SelectMachines(const fs::path& root, const std::optional<std::string>& only,
                                    const MachineChoice& choice) {
  std::vector<Machine> machines = ListMachines(root);
  // Checked before "host" is added: a wrong --fixtures must not pass as a run on / alone.
  if (machines.empty()) throw std::runtime_error(root.string() + ": no machine dirs (<name>/sys)");
  if (choice.with_host) machines.push_back({"host", "/"});
  const auto& defaults = choice.defaults;
  std::erase_if(machines, [&](const Machine& m) {
    if (only) return m.name != *only;
    return !defaults.empty() &&
           std::find(defaults.begin(), defaults.end(), m.name) == defaults.end();
  });
  if (machines.empty())
    throw std::runtime_error(only ? "--only " + *only + ": no such machine"
                                  : root.string() + ": none of the default machines");
  return machines;
}

}  // namespace kvhost::bench
