// Helpers every hand-run bench shares: the fixture machines unpacked into a
// private temp dir, medians, a steady-clock stopwatch and argument parsing.
// Benches run by hand, never in ctest: timings on a shared box are too noisy.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kvhost::bench {

// Median of the samples (mean of the middle two for an even count); 0 for none.
double Median(std::vector<double> samples);

// A private temp dir removed with everything in it when it goes out of scope,
// so an exception or an early return never leaves ~33,000 files behind.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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

}  // namespace kvhost::bench
