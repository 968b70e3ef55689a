// Helpers every hand-run bench shares: the fixture machines unpacked into a
// private temp dir, medians, a steady-clock stopwatch, the command line of the
// fixture benches and their choice of machines.
// Benches run by hand, never in ctest: timings on a shared box are too noisy.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/temp_dir.h"

namespace kvhost::bench {

using kvhost::TempDir;  // benches name it as bench::TempDir too

// Median of the samples (mean of the middle two for an even count); 0 for none.
double Median(std::vector<double> samples);

// Extracts a .tar.gz into `into` with tar(1), spawned without a shell so paths
// need no quoting. Throws std::runtime_error when tar is missing or fails.
void Untar(const std::filesystem::path& tarball, const std::filesystem::path& into);

// The fixture machines: a directory given by the user, or the tests' tarball
// unpacked into a TempDir that lives (and is removed) with this object.
class FixtureMachines {
 public:
  // `dir` empty: unpack `tarball`.
  FixtureMachines(const std::filesystem::path& dir, const std::filesystem::path& tarball);
  const std::filesystem::path& root() const { return root_; }

 private:
  std::unique_ptr<TempDir> unpacked_;  // null when the user gave a directory
  std::filesystem::path root_;
};

struct Machine {
  std::string name;
  std::filesystem::path root;
};

// Every subdirectory with a sys/ is a machine root; sorted so runs line up.
std::vector<Machine> ListMachines(const std::filesystem::path& dir);

// Elapsed steady-clock time since construction or the last Restart().
class Stopwatch {
 public:
  using Clock = std::chrono::steady_clock;
  Stopwatch() : start_(Clock::now()) {}
  void Restart() { start_ = Clock::now(); }
  double ElapsedMs() const {
    return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  }

 private:
  Clock::time_point start_;
};

// Keeps the optimizer from discarding work whose result is otherwise unused.
void Consume(size_t value);

// Parses a decimal count in [min, max]; throws std::runtime_error naming `what`.
long ParseCount(const std::string& text, const std::string& what, long min, long max);
// Parses a positive decimal number; throws std::runtime_error naming `what`.
double ParsePositive(const std::string& text, const std::string& what);

// The tests' fixture tarball, set by bench/CMakeLists.txt: one place, so no
// bench can drift to a different copy of the machines.
std::filesystem::path DefaultTarball();

// Flags every fixture bench (discovery, capacity, packing) takes. A program
// sets its own defaults before parsing; the usage text prints those, so the
// help cannot disagree with what a run does.
struct BenchOptions {
  std::filesystem::path fixtures;  // machine dirs already unpacked; empty: unpack `tarball`
  std::filesystem::path tarball = DefaultTarball();
  std::optional<std::string> only;  // one machine by name
  int rounds = 1;                   // timed rounds per machine (ArgSpec::timed only)
  int warmup = 0;                   // untimed rounds per machine first
};

// A flag only one program takes. `apply` gets its value ("" for a switch) and
// may throw std::runtime_error to reject it, as the common flags do.
struct ExtraFlag {
  std::string name;   // "--seed"
  std::string value;  // what the usage shows after the name ("N"); empty: a switch
  std::string help;
  std::function<void(const std::string&)> apply;
};

struct ArgSpec {
  bool timed = true;             // takes --rounds and --warmup
  std::string only_help;         // what --only NAME picks in this program
  std::vector<ExtraFlag> extra;  // shown before the common flags
};

// Parses argv into `opt` (holding the program's defaults) and spec.extra.
// -h/--help prints the usage and exits 0; an unknown flag or a missing value
// prints it to stderr and exits 2; a bad value throws std::runtime_error.
void ParseBenchArgs(int argc, char** argv, const ArgSpec& spec, BenchOptions& opt);

// Which machines a bench runs before --only narrows them.
struct MachineChoice {
  bool with_host = true;              // add this host as "host" (root /) after the fixtures
  std::vector<std::string> defaults;  // without --only, only these; empty: every machine
};

// The fixture machines under `root` chosen by `choice`, or the one named by
// `only` (which overrides `choice.defaults`). Throws std::runtime_error when
// none is left, so a typo in --only never runs an empty bench.
std::vector<Machine> SelectMachines(const std::filesystem::path& root,
                                    const std::optional<std::string>& only,
                                    const MachineChoice& choice);

}  // namespace kvhost::bench
