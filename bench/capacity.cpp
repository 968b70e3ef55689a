// bench/capacity: what answering "how many of each type fit" costs next to
// reading the host. For each fixture machine (as found, and a configured
// variant with hugepages, isolation, realtime and GPUs) and for this host
// ("/"), the median time of the whole seed catalog's capacity
// (ComputeCapacity + ComputeFragmentation on an empty allocator) over the
// median time of one DiscoverHost of the same root.
//
// The goal (issue "one NUMA-aware allocator and exact capacity"): ratio <= 0.1
// everywhere, so capacity may be recomputed on every change without the agent
// noticing. Run by hand, not in ctest: timings on a shared box are too noisy.
//
//   bench/capacity [--rounds N] [--warmup N] [--only NAME] [--fixtures DIR] [--tarball FILE]
#include "agent/allocator/capacity.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/allocator/host_resources.h"
#include "agent/catalog/builtin_catalog.h"
#include "agent/host/discover.h"
#include "agent/live/kubelet_live.h"
#include "agent/live/live_host.h"
#include "base/file_stamp.h"
#include "bench/bench_support.h"
#include "bench/host_variant.h"

namespace fs = std::filesystem;
using namespace kvhost;
using namespace kvhost::bench;

namespace {

constexpr double kGoal = 0.1;

BenchOptions ParseArgs(int argc, char** argv) {
  BenchOptions o;
  o.rounds = 21;  // odd, so the median is one real sample
  o.warmup = 2;   // fills caches (page cache, allocator's first copies) first
  ParseBenchArgs(argc, argv, {true, "one machine (\"host\" for this host's root /)", {}}, o);
  return o;
}

// One host configuration whose capacity is timed. With `live`, what is timed
// starts from the discovered host: LoadLiveHost (placement owner, state file or
// kubelet's files, kubelet's node) and then capacity, as `capacity` runs it.
struct Subject {
  std::string variant;  // "as-is", "configured", "live agent", "live kubelet"
  Allocator empty;
  std::vector<double> samples_ms;
  std::optional<LiveSources> live;
};

double TimeDiscovery(const fs::path& root) {
  const Stopwatch watch;
  const HostModel host = DiscoverHost(root);
  const double ms = watch.ElapsedMs();  // the model's destructor is not discovery
  Consume(host.cpu.cores.size());
  return ms;
}

double TimeLiveCapacity(const LiveSources& sources, const HostModel& model,
                        const Catalog& catalog) {
  // `capacity` hands LoadLiveHost the model it just discovered; the copy
  // standing in for that discovery is not live loading.
  HostModel discovered = model;
  const Stopwatch watch;
  const LiveHost live = LoadLiveHost(sources, std::move(discovered));
  const std::vector<TypeCapacity> counts = ComputeCapacity(live.allocator, catalog);
  const FragmentationScore fragmentation = ComputeFragmentation(live.allocator, catalog);
  const double ms = watch.ElapsedMs();
  Consume(counts.size() + fragmentation.free_dedicated_cpus);
  return ms;
}

double TimeCapacity(const Allocator& empty, const Catalog& catalog) {
  const Stopwatch watch;
  const std::vector<TypeCapacity> counts = ComputeCapacity(empty, catalog);
  const FragmentationScore fragmentation = ComputeFragmentation(empty, catalog);
  const double ms = watch.ElapsedMs();
  Consume(counts.size() + fragmentation.free_dedicated_cpus);
  return ms;
}

Allocator EmptyAllocator(const HostModel& host, const AgentConfig& config) {
  return Allocator(std::make_shared<const HostResources>(BuildHostResources(host, config)));
}

struct Row {
  std::string machine, variant;
  double capacity_ms = 0, discovery_ms = 0;
};

// A burst of load from other jobs must hit every measurement alike: each round
// times one discovery and one capacity per variant back to back, and the
// order rotates so no measurement always runs first on a cold cache.
// The kubelet config that agrees with the agent's defaults on this host.
void WriteKubeletConfig(const Machine& m, const fs::path& kubelet_config) {
  const HostModel model = DiscoverHost(m.root);
  const HostResources resources = BuildHostResources(model, AgentConfig{});
  std::ofstream(kubelet_config) << kubelet::KubeletConfigFragment(
      AgentIntentFor(resources, model, AgentConfig{}));
}

std::vector<Row> Bench(const Machine& m, const Catalog& catalog, const BenchOptions& opt,
                       const fs::path& kubelet_config) {
  const HostModel model = DiscoverHost(m.root);
  const ConfiguredHost configured = ConfigureVariant(model, VariantShape{});
  std::vector<Subject> subjects;
  subjects.push_back({"as-is", EmptyAllocator(model, AgentConfig{}), {}, {}});
  subjects.push_back({"configured", EmptyAllocator(configured.model, configured.config), {}, {}});
  // Live: agent mode reads a state file (none here: absent is empty); kubelet
  // mode reads kubelet's config (the agent's own fragment, beside the root, so
  // a --fixtures directory is never written) and builds kubelet's node.
  AgentConfig kubelet_mode;
  kubelet_mode.placement = PlacementSetting::kKubelet;
  subjects.push_back({"live agent",
                      EmptyAllocator(model, AgentConfig{}),
                      {},
                      LiveSources{.root = m.root,
                                  .state_dir = kubelet_config.parent_path() / "no-state",
                                  .config = {},
                                  .kubelet_config = {},
                                  .running = {}}});
  subjects.push_back({"live kubelet",
                      EmptyAllocator(model, AgentConfig{}),
                      {},
                      LiveSources{.root = m.root,
                                  .state_dir = kubelet_config.parent_path() / "no-state",
                                  .config = kubelet_mode,
                                  .kubelet_config = kubelet_config.string(),
                                  .running = {}}});
  std::vector<double> discovery_ms;
  const size_t steps = subjects.size() + 1;  // step 0 is discovery
  const auto run = [&](size_t step, bool keep) {
    if (step == 0) {
      const double ms = TimeDiscovery(m.root);
      if (keep) discovery_ms.push_back(ms);
    } else {
      Subject& s = subjects[step - 1];
      const double ms =
          s.live ? TimeLiveCapacity(*s.live, model, catalog) : TimeCapacity(s.empty, catalog);
      if (keep) s.samples_ms.push_back(ms);
    }
  };
  for (int i = 0; i < opt.warmup; ++i)
    for (size_t step = 0; step < steps; ++step) run(step, false);
  for (int i = 0; i < opt.rounds; ++i)
    for (size_t k = 0; k < steps; ++k) run((k + static_cast<size_t>(i)) % steps, true);
  std::vector<Row> rows;
  const double discovery = Median(discovery_ms);
  for (auto& s : subjects) rows.push_back({m.name, s.variant, Median(s.samples_ms), discovery});
  return rows;
}

int Run(const BenchOptions& opt) {
  // The CLI's default level: `capacity` formats no info lines (a missing state
  // file's), and they would land in the table on stdout.
  spdlog::set_level(spdlog::level::warn);
  const FixtureMachines fixtures(opt.fixtures, opt.tarball);
  const std::vector<Machine> machines = SelectMachines(fixtures.root(), opt.only, MachineChoice{});
  const Catalog catalog = BuiltinCatalog();
  const TempDir kubelet_dir;

  std::printf("catalog: %zu types; rounds: %d (after %d warm-up), medians; goal: ratio <= %.1f\n\n",
              catalog.types.size(), opt.rounds, opt.warmup, kGoal);
  std::printf("| machine | variant | capacity median (ms) | discovery median (ms) | ratio |\n");
  std::printf("|---|---|---:|---:|---:|\n");
  // On a node kubelet's config was written long before: the reader then
  // vouches for it by its stamp, without reading it (base/file_stamp.h). So
  // the configs are written first and left to settle, as on a node.
  for (const auto& m : machines) {
    try {
      WriteKubeletConfig(m, kubelet_dir.path() / (m.name + ".yaml"));
    } catch (const std::exception&) {
      // Reported with the machine's row below.
    }
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(kStampSettleNs + 100'000'000));
  double max_ratio = 0;
  std::string max_at;
  int failed = 0;
  for (const auto& m : machines) {
    try {
      for (const Row& r : Bench(m, catalog, opt, kubelet_dir.path() / (m.name + ".yaml"))) {
        const double ratio = r.discovery_ms > 0 ? r.capacity_ms / r.discovery_ms : 0;
        std::printf("| %s | %s | %.3f | %.3f | %.3f |\n", r.machine.c_str(), r.variant.c_str(),
                    r.capacity_ms, r.discovery_ms, ratio);
        if (ratio > max_ratio) max_ratio = ratio, max_at = r.machine + " " + r.variant;
      }
    } catch (const std::exception& e) {
      // One unreadable machine must not hide the numbers of the others.
      std::printf("| %s | - | error | error | - |\n", m.name.c_str());
      std::fprintf(stderr, "capacity: %s: %s\n", m.name.c_str(), e.what());
      ++failed;
    }
    std::fflush(stdout);  // rows appear as they finish: a full run takes a while
  }
  std::printf("\nmax ratio: %.3f (%s) -> %s%s\n", max_ratio, max_at.c_str(),
              max_ratio <= kGoal ? "goal met" : "goal NOT met",
              failed ? " (machines with errors are left out)" : "");
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Caught here rather than left to std::terminate so that the temp dir is removed.
  try {
    return Run(ParseArgs(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "capacity: %s\n", e.what());
    return 1;
  }
}
