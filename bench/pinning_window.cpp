#include "bench/pinning_window.h"

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "agent/daemon/watch_loop.h"
#include "agent/host/discover.h"
#include "agent/libvirt/libvirt_error.h"
#include "agent/libvirt/lifecycle_watcher.h"
#include "agent/pinning/qemu_threads.h"
#include "bench/bench_support.h"

namespace kvhost::bench {
namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using namespace std::chrono_literals;

constexpr char kUri[] = "qemu:///system";
constexpr char kType[] = "bench.dedicated";

// The domains this bench defines, and the only ones its agent sees (`domains`).
std::string BenchDomainPrefix() { return "kvhost-it-bench-" + std::to_string(getpid()) + "-"; }

double MsBetween(TimePoint from, TimePoint to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Nearest rank: p99 of 50 samples is the largest but one... of 100, the 99th.
double Percentile(std::vector<double> samples, double percent) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<size_t>(std::ceil(percent / 100 * samples.size()));
  return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
}

// Moments noted by other threads (the agent's loop, libvirt's event loop),
// by key; the first note of a key wins.
class Moments {
 public:
  void Note(const std::string& key, std::string detail = "") {
    std::lock_guard<std::mutex> lock(mutex_);
    moments_.try_emplace(key, Clock::now(), std::move(detail));
    changed_.notify_all();
  }
  std::optional<std::pair<TimePoint, std::string>> WaitFor(const std::string& key,
                                                           std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return moments_.count(key) > 0; });
    auto it = moments_.find(key);
    if (it == moments_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::pair<TimePoint, std::string>> moments_;
};

// vCPU 0's thread as a poller saw it: when it first appeared, and each
// Cpus_allowed_list it had from then on, with when it was first seen.
struct VcpuSightings {
  std::optional<TimePoint> appeared;
  std::vector<std::pair<TimePoint, CpuSet>> affinities;
};

// Polls /proc every 0.5 ms until `done`: the pid file libvirt writes, the
// QEMU's task list, then vCPU 0's thread.
VcpuSightings WatchVcpuThread(const std::string& domain, const std::atomic<bool>& done) {
  const SysfsRoot root("/");
  VcpuSightings out;
  std::optional<int> pid, tid;
  while (!done) {
    try {
      if (!pid) pid = QemuPid(root, domain);
      if (pid && !tid)
        for (unsigned t : root.ListNumbered("proc/" + std::to_string(*pid) + "/task", "")) {
          auto thread = ReadQemuThread(root, *pid, static_cast<int>(t));
          if (!thread || VcpuIndexOfThread(thread->name) != 0u) continue;
          tid = thread->tid;
          out.appeared = Clock::now();
        }
      if (tid)
        if (auto thread = ReadQemuThread(root, *pid, *tid);
            thread &&
            (out.affinities.empty() || !(out.affinities.back().second == thread->cpus_allowed)))
          out.affinities.emplace_back(Clock::now(), thread->cpus_allowed);
    } catch (const InputError&) {
      // A pid file read while libvirt writes it: the next poll reads it whole.
    }
    std::this_thread::sleep_for(500us);
  }
  return out;
}

struct StartSample {
  double start_ms = 0;              // virDomainCreate, call to return
  double event_to_verified_ms = 0;  // STARTED event -> the agent's verified pin
  double thread_to_verified_ms = 0;
  double unpinned_after_event_ms = 0;  // the kernel's view: vCPU still unpinned after STARTED
  CpuSet pinned;                       // where the agent put vCPU 0
};

std::string DomainXml(const std::string& name, const std::string& domain_type,
                      const CpuSet& prepinned) {
  const std::string cputune =
      prepinned.Empty() ? ""
                        : "<cputune><vcpupin vcpu='0' cpuset='" + prepinned.ToList() +
                              "'/><emulatorpin cpuset='" + prepinned.ToList() + "'/></cputune>";
  return "<domain type='" + domain_type + "'><name>" + name + "</name>" +
         "<metadata><kvhost:instance xmlns:kvhost='https://kvhost.cozystack.io/xmlns/v1' type='" +
         kType + "'/></metadata><memory unit='MiB'>128</memory><vcpu>1</vcpu>" + cputune +
         "<os><type arch='x86_64'>hvm</type></os>"
         "<devices><memballoon model='none'/></devices></domain>";
}

class WindowRun {
 public:
  WindowRun(const LibvirtConnection& connection, Moments& moments, std::string domain_type)
      : connection_(connection), moments_(moments), domain_type_(std::move(domain_type)) {}

  // One start of a fresh domain (pinned before start when `prepinned` is not empty).
  StartSample Start(const std::string& name, const CpuSet& prepinned) {
    DomainHandle domain(
        virDomainDefineXML(connection_.raw(), DomainXml(name, domain_type_, prepinned).c_str()));
    if (!domain) ThrowLastLibvirtError("define " + name);
    std::atomic<bool> done{false};
    VcpuSightings seen;
    std::thread poller([&] { seen = WatchVcpuThread(name, done); });
    auto stop_poller = [&] {
      done = true;
      poller.join();
    };
    double start_ms = 0;
    std::pair<TimePoint, TimePoint> started_verified;
    try {
      const TimePoint asked = Clock::now();
      if (virDomainCreate(domain.get()) < 0) ThrowLastLibvirtError("start " + name);
      start_ms = MsBetween(asked, Clock::now());
      started_verified = WaitForPin(name);
      std::this_thread::sleep_for(5ms);  // the poller's last look, after the agent's pin
    } catch (...) {
      stop_poller();
      Remove(domain.get());
      throw;
    }
    stop_poller();
    Remove(domain.get());
    return Summarize(name, seen, start_ms, started_verified.first, started_verified.second);
  }

 private:
  std::pair<TimePoint, TimePoint> WaitForPin(const std::string& name) {
    auto verified = moments_.WaitFor("verified " + name, 30s);
    if (!verified) throw std::runtime_error("the agent did not pin " + name + " within 30 s");
    if (!verified->second.empty()) throw std::runtime_error(verified->second);
    auto started = moments_.WaitFor("started " + name, 5s);
    if (!started) throw std::runtime_error("no STARTED event for " + name);
    return {started->first, verified->first};
  }

  static StartSample Summarize(const std::string& name, const VcpuSightings& seen, double start_ms,
                               TimePoint started, TimePoint verified) {
    if (!seen.appeared || seen.affinities.empty())
      throw std::runtime_error("the poller never saw vCPU 0's thread of " + name);
    StartSample s;
    s.start_ms = start_ms;
    s.event_to_verified_ms = MsBetween(started, verified);
    s.thread_to_verified_ms = MsBetween(*seen.appeared, verified);
    s.pinned = seen.affinities.back().second;
    // The first sighting of the final affinity: from then on the kernel keeps vCPU 0 there.
    auto first_pinned = std::find_if(seen.affinities.begin(), seen.affinities.end(),
                                     [&](const auto& a) { return a.second == s.pinned; });
    s.unpinned_after_event_ms = std::max(0.0, MsBetween(started, first_pinned->first));
    return s;
  }

  static void Remove(virDomainPtr domain) {
    if (virDomainIsActive(domain) == 1) virDomainDestroy(domain);
    virDomainUndefine(domain);
    TakeLastLibvirtError();
  }

  const LibvirtConnection& connection_;
  Moments& moments_;
  std::string domain_type_;
};

void PrintRow(const std::string& what, const std::vector<StartSample>& samples) {
  auto column = [&](auto field) {
    std::vector<double> v;
    for (const auto& s : samples) v.push_back(field(s));
    return std::pair(Percentile(v, 50), Percentile(v, 99));
  };
  auto [start50, start99] = column([](const StartSample& s) { return s.start_ms; });
  auto [ev50, ev99] = column([](const StartSample& s) { return s.event_to_verified_ms; });
  auto [evr50, evr99] =
      column([](const StartSample& s) { return s.event_to_verified_ms / s.start_ms; });
  auto [th50, th99] = column([](const StartSample& s) { return s.thread_to_verified_ms; });
  auto [thr50, thr99] =
      column([](const StartSample& s) { return s.thread_to_verified_ms / s.start_ms; });
  auto [un50, un99] = column([](const StartSample& s) { return s.unpinned_after_event_ms; });
  std::printf(
      "| %s | %zu | %.0f / %.0f | %.1f / %.1f | %.3f / %.3f | %.1f / %.1f | %.3f / %.3f |"
      " %.1f / %.1f |\n",
      what.c_str(), samples.size(), start50, start99, ev50, ev99, evr50, evr99, th50, th99, thr50,
      thr99, un50, un99);
}

Catalog BenchCatalog() {
  InstanceType type;
  type.name = kType;
  type.series = "bench";
  type.vcpus = 1;
  type.memory_kib = 128 * 1024;
  type.cpu = CpuPolicy::kDedicated;
  type.source = "bench/pinning";
  return Catalog{{type}};
}

void RunStarts(const WindowOptions& options, Moments& moments) {
  const LibvirtConnection connection = LibvirtConnection::Open(kUri);
  DomainLifecycleWatcher watcher(connection, [&](const DomainLifecycleEvent& e) {
    if (e.event == VIR_DOMAIN_EVENT_STARTED) moments.Note("started " + e.domain_name);
  });
  WindowRun run(connection, moments, options.domain_type);
  const std::string prefix = BenchDomainPrefix();
  std::vector<StartSample> after, before;
  for (int i = 0; i < options.starts; ++i)
    after.push_back(run.Start(prefix + "a" + std::to_string(i), CpuSet()));
  // The placement the agent gives this domain on this host, written into its definition.
  const CpuSet placement = after.back().pinned;
  for (int i = 0; i < options.starts; ++i)
    before.push_back(run.Start(prefix + "b" + std::to_string(i), placement));

  std::printf(
      "\nreal libvirtd (%s), 1-vCPU diskless dedicated domain, %d starts each, p50 / p99;"
      " ratios are per start, to that start's virDomainCreate\n\n",
      options.domain_type == "kvm" ? "KVM" : "TCG", options.starts);
  std::printf(
      "| how it is pinned | starts | start (ms) | STARTED -> verified (ms) | ratio to start |"
      " vCPU thread -> verified (ms) | ratio to start | vCPU unpinned after STARTED (ms) |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|\n");
  PrintRow("by the agent, after STARTED", after);
  PrintRow("<cputune> " + placement.ToList() + " defined before start", before);
}

// The lock the real-libvirtd pin tests hold (tests/pin_it_support.h): their
// agents place every kvhost-it-* domain they see, so this bench's would be taken.
class PinTestsLock {
 public:
  PinTestsLock() : fd_(open(kPath, O_CREAT | O_RDWR | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw std::runtime_error(std::string("cannot open ") + kPath);
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    std::fprintf(stderr, "pinning: waiting for %s (a real-libvirtd test runs)\n", kPath);
    if (flock(fd_, LOCK_EX) != 0) throw std::runtime_error(std::string("cannot lock ") + kPath);
  }
  ~PinTestsLock() { close(fd_); }
  PinTestsLock(const PinTestsLock&) = delete;
  PinTestsLock& operator=(const PinTestsLock&) = delete;

 private:
  static constexpr char kPath[] = "/run/lock/kvhost-it-pin-tests.lock";
  int fd_;
};

// The harness's guard (tests/harness/foreign_domains.sh) for this bench: it
// starts an agent on qemu:///system, so it runs only where libvirt has no
// domain but the real-libvirtd tests' and its own (kvhost-it-*).
void RefuseBesideForeignDomains() {
  const DomainFilter tests({"kvhost-it-*"}, "the tests' and this bench's domains");
  std::string foreign;
  for (const DomainSummary& d : LibvirtConnection::Open(kUri).ListDomainSummaries())
    if (!tests.Manages(d.name)) foreign += (foreign.empty() ? "" : ", ") + d.name;
  if (foreign.empty()) return;
  throw std::runtime_error(
      std::string(kUri) + " has domains this bench did not define: " + foreign +
      ". Its agent pins the domains it starts (and sees no other), but it refuses to run beside "
      "VMs it could re-pin by mistake: run it on a machine or VM without other domains");
}

}  // namespace

void PrintUnpinnedWindow(const WindowOptions& options) {
  spdlog::set_level(spdlog::level::warn);  // the table goes to stdout
  const PinTestsLock lock;
  RefuseBesideForeignDomains();
  AgentConfig config;  // defaults: the first core of each node reserved
  auto host = std::make_shared<const HostResources>(BuildHostResources(DiscoverHost("/"), config));
  TempDir state;
  Pinner pinner(host, BenchCatalog(), StateStore(state.path()));
  pinner.SetLocalRoot("/");
  ConnectionSet connections({kUri}, std::nullopt, ConnectionSet::Retrying::kWithBackoff,
                            DomainFilter({BenchDomainPrefix() + "*"}, "bench/pinning_window"));

  Moments moments;
  std::atomic<bool> stop{false};
  WatchOptions watch;
  watch.refresh_interval = 200ms;
  watch.on_ready = [&] { moments.Note("ready"); };
  watch.on_event_handled = [&](const std::string& what) {
    const std::string prefix = "started ", failed = " (failed: ";
    if (what.rfind(prefix, 0) != 0) return;
    const size_t cut = what.find(failed);
    const std::string name = what.substr(prefix.size(), cut - prefix.size());
    moments.Note("verified " + name, cut == std::string::npos ? "" : what);
  };
  watch.stop_requested = [&] { return stop.load(); };
  std::thread loop([&] { RunWatchLoop(pinner, connections, watch); });
  try {
    if (!moments.WaitFor("ready", 30s)) throw std::runtime_error("the watch loop never reconciled");
    RunStarts(options, moments);  // its watcher goes before the loop
  } catch (...) {
    stop = true;
    loop.join();
    throw;
  }
  stop = true;
  loop.join();
}

}  // namespace kvhost::bench
