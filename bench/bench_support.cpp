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

extern char** environ;

namespace fs = std::filesystem;

namespace kvhost::bench {

double Median(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kvhost-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;  // a destructor must not throw; a leftover dir is only untidy
  fs::remove_all(path_, ec);
  if (ec)
    std::fprintf(stderr, "bench: could not remove %s: %s\n", path_.c_str(), ec.message().c_str());
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

}  // namespace kvhost::bench
