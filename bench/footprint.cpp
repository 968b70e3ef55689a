// bench/footprint: what `kvhost-agent run` costs the host it serves.
//
//   bench/footprint [--idle SECONDS] [--starts N] [--rounds N] [--agent PATH] [--fixtures DIR]
//
// 1. The daemon binary on a fixture root with test:///default and the default
//    refreshInterval (10 s): RSS (VmRSS) once it published, and again after
//    --idle seconds (default 15; the README reports a 60 s run); idle CPU =
//    (utime + stime) over that idle period, as a share of one core.
// 2. A refresh (RefreshVolatileFacts: what moves, re-read and compared)
//    against a full discovery (DiscoverHost) of the same root, medians over
//    --rounds (default 30), on the fixture and on this host.
// 3. Publish latency: the daemon's own loop (RunDaemon, in this process, so
//    the bench can start VMs through its test:/// connection, which is private
//    to the process that opened it): from virDomainCreateXML of a cx1.large
//    to the label file changing, median and max over --starts (default 20).
// Goals: RSS <= 10 MiB, idle CPU <= 0.1 % of a core, refresh <= 1/20 of a discovery.
#include <libvirt/libvirt.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "agent/catalog/builtin_catalog.h"
#include "agent/daemon/daemon.h"
#include "agent/host/discover.h"
#include "agent/host/host_refresh.h"
#include "agent/libvirt/connection.h"
#include "bench/bench_support.h"

extern char** environ;
namespace fs = std::filesystem;
using namespace kvhost::bench;
using namespace std::chrono_literals;

namespace {

constexpr char kFixture[] = "hwloc-16amd64-4n4c-hugepages";

struct Flags {
  double idle_seconds = 15;
  long starts = 20;
  fs::path agent;
};

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fixture with 4 GiB of 2 MiB pages per node, so a cx1.large fits.
fs::path PrepareRoot(const fs::path& fixtures, const fs::path& into) {
  const fs::path root = into / "root";
  fs::copy(fixtures / kFixture, root, fs::copy_options::recursive);
  for (int node = 0; node < 4; ++node)
    for (const char* file : {"nr_hugepages", "free_hugepages"})
      std::ofstream(root / ("sys/devices/system/node/node" + std::to_string(node) +
                            "/hugepages/hugepages-2048kB/" + file))
          << "2048\n";
  return root;
}

fs::path WriteConfig(const fs::path& dir) {
  const fs::path config = dir / "config.yaml";
  std::ofstream(config) << "featureFile: " << (dir / "features.d/kvhost-agent").string()
                        << "\nnrtFile: " << (dir / "nrt.yaml").string()
                        << "\napiListen: \"off\"\ncontrolSocket: "
                        << (dir / "control.sock").string() << "\n";
  fs::create_directories(dir / "features.d");
  return config;
}

long StatusKib(pid_t pid, const std::string& field) {
  std::istringstream status(ReadAll("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// utime + stime of the whole process, in clock ticks (/proc/PID/stat fields 14 and 15).
long CpuTicks(pid_t pid) {
  const std::string stat = ReadAll("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

void ProcessFootprint(const Flags& flags, const fs::path& root, const fs::path& dir) {
  const fs::path config = WriteConfig(dir);
  std::vector<std::string> args{flags.agent.string(),
                                "--log-level",
                                "warn",
                                "run",
                                "--root",
                                root.string(),
                                "--config",
                                config.string(),
                                "--connect",
                                "test:///default",
                                "--state-dir",
                                (dir / "state").string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + args[0]);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!fs::exists(dir / "features.d/kvhost-agent") &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(1s);  // past the first publish
  const long rss_start = StatusKib(pid, "VmRSS");
  const long ticks_before = CpuTicks(pid);
  std::this_thread::sleep_for(std::chrono::duration<double>(flags.idle_seconds));
  const long ticks_after = CpuTicks(pid);
  const long rss_idle = StatusKib(pid, "VmRSS");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  const double cpu_percent = 100.0 * static_cast<double>(ticks_after - ticks_before) /
                             static_cast<double>(sysconf(_SC_CLK_TCK)) / flags.idle_seconds;
  std::printf("| RSS after start | %.1f MiB | <= 10 MiB |\n", rss_start / 1024.0);
  std::printf("| RSS after %.0f s idle | %.1f MiB | <= 10 MiB |\n", flags.idle_seconds,
              rss_idle / 1024.0);
  std::printf("| idle CPU over %.0f s | %.3f %% of a core (%ld ticks) | <= 0.1 %% |\n",
              flags.idle_seconds, cpu_percent, ticks_after - ticks_before);
}

void RefreshCost(const fs::path& root, const std::string& name, int rounds) {
  std::vector<double> discovery, refresh;
  for (int i = 0; i < rounds; ++i) {
    Stopwatch watch;
    kvhost::HostModel host = kvhost::DiscoverHost(root);
    discovery.push_back(watch.ElapsedMs());
    kvhost::HostModel copy = host;
    watch.Restart();
    kvhost::RefreshVolatileFacts(copy);
    refresh.push_back(watch.ElapsedMs());
  }
  const double d = Median(discovery), r = Median(refresh);
  std::printf("| refresh / discovery (%s) | %.3f ms / %.3f ms = 1/%.0f | <= 1/20 |\n", name.c_str(),
              r, d, d / r);
}

std::string CxDomainXml(int i) {
  return "<domain type='test'><name>footprint-" + std::to_string(i) +
         "</name><metadata><kvhost:instance xmlns:kvhost='https://kvhost.cozystack.io/xmlns/v1' "
         "type='cx1.large'/></metadata><memory unit='KiB'>4194304</memory><memoryBacking>"
         "<hugepages/></memoryBacking><vcpu>2</vcpu><os><type>hvm</type></os></domain>";
}

// Polls the label file (1 ms) until its text differs from `before`.
double WaitForChange(const fs::path& file, const std::string& before,
                     std::chrono::steady_clock::time_point since) {
  const auto deadline = since + 10s;
  while (ReadAll(file) == before) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(1ms);
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

void PublishLatency(const Flags& flags, const fs::path& root, const fs::path& dir) {
  const fs::path config = WriteConfig(dir);
  const fs::path labels = dir / "features.d/kvhost-agent";
  std::promise<virConnectPtr> ready;
  kvhost::DaemonOptions options{.root = root,
                                .config_path = config.string(),
                                .kubelet_config = {},
                                .state_dir = dir / "state",
                                .connect = {"test:///default"},
                                .kubevirt_glob = std::nullopt,
                                .load_catalog = [] { return kvhost::BuiltinCatalog(); },
                                .version = "bench",
                                .git_commit = {},
                                .build_type = {},
                                .on_ready = nullptr};
  options.on_ready = [&](const std::vector<const kvhost::LibvirtConnection*>& open) {
    ready.set_value(open.empty() ? nullptr : open.front()->raw());
  };
  std::thread daemon([&] { kvhost::RunDaemon(options); });
  virConnectPtr connection = ready.get_future().get();
  std::vector<double> latencies;
  for (long i = 0; connection && i < flags.starts; ++i) {
    const std::string before = ReadAll(labels);
    const auto start = std::chrono::steady_clock::now();
    virDomainPtr domain = virDomainCreateXML(connection, CxDomainXml(i).c_str(), 0);
    if (!domain) break;
    latencies.push_back(WaitForChange(labels, before, start));
    const std::string pinned = ReadAll(labels);
    virDomainDestroy(domain);  // freed: the labels go back
    virDomainFree(domain);
    WaitForChange(labels, pinned, std::chrono::steady_clock::now());
  }
  kill(getpid(), SIGTERM);  // the daemon's signal_set ends its loop
  daemon.join();
  if (latencies.empty()) throw std::runtime_error("no VM start was published");
  std::printf(
      "| publish latency, VM start -> label file (%zu starts) | median %.1f ms, max %.1f ms "
      "| - |\n",
      latencies.size(), Median(latencies), *std::max_element(latencies.begin(), latencies.end()));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Flags flags;
    flags.agent = fs::canonical("/proc/self/exe").parent_path().parent_path() / "kvhost-agent";
    BenchOptions opt;
    opt.rounds = 30;
    ArgSpec spec{.timed = true, .only_help = "", .extra = {}};
    spec.extra.push_back(
        {"--idle", "SECONDS", "idle period of the process footprint (default 15)",
         [&](const std::string& v) { flags.idle_seconds = ParsePositive(v, "--idle"); }});
    spec.extra.push_back(
        {"--starts", "N", "VM starts timed for the publish latency (default 20)",
         [&](const std::string& v) { flags.starts = ParseCount(v, "--starts", 1, 1000); }});
    spec.extra.push_back({"--agent", "PATH", "the kvhost-agent binary (default ../kvhost-agent)",
                          [&](const std::string& v) { flags.agent = v; }});
    ParseBenchArgs(argc, argv, spec, opt);
    spdlog::set_level(spdlog::level::warn);
    FixtureMachines machines(opt.fixtures, opt.tarball);
    TempDir scratch;
    const fs::path root = PrepareRoot(machines.root(), scratch.path());
    std::printf("| what | measured | goal |\n|---|---|---|\n");
    fs::create_directories(scratch.path() / "process");
    ProcessFootprint(flags, root, scratch.path() / "process");
    RefreshCost(root, kFixture, opt.rounds);
    RefreshCost("/", "this host", opt.rounds);
    fs::create_directories(scratch.path() / "latency");
    PublishLatency(flags, root, scratch.path() / "latency");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "footprint: %s\n", e.what());
    return 1;
  }
}
