// Property tests: thousands of random place/free sequences on every fixture
// host (as they are, and with hugepages + isolation + realtime configured),
// each step checked by an independent invariant checker.
#include <gtest/gtest.h>

#include <random>

#include "agent/catalog/builtin_catalog.h"
#include "allocator_invariants.h"
#include "allocator_support.h"

namespace kvhost::testing {
namespace {

struct Variant {
  std::string name;
  bool configured;  // hugepages + isolation + realtime + GPUs
};

// What the allocator says is free, to prove Release returns exactly what Commit took.
struct FreeView {
  CpuSet held;
  std::vector<uint64_t> pages, bound;
  uint64_t ordinary = 0;
  unsigned shared_used = 0, gpus = 0;
  bool operator==(const FreeView&) const = default;
};

FreeView View(const Allocator& a) {
  FreeView v;
  v.held = a.HeldCpus();
  for (size_t ni = 0; ni < a.host().nodes.size(); ++ni) {
    for (const auto& [size, n] : a.host().nodes[ni].hugepages_free)
      v.pages.push_back(a.FreeHugepages(ni, size));
    v.bound.push_back(a.FreeBoundMemoryKib(ni));
  }
  v.ordinary = a.FreeOrdinaryMemoryKib();
  v.shared_used = a.SharedVcpusUsed();
  v.gpus = a.FreeGpus("nvidia.com/A400");
  return v;
}

// 3: a placement on several nodes is only right when no single node had room.
void ExpectSingleNodeWhenItFits(const Allocator& a, const InstanceType& t, const Placement& p) {
  if (!p.dedicated || p.numa_nodes.size() < 2) return;
  for (size_t ni = 0; ni < a.host().nodes.size(); ++ni) {
    unsigned cpus = 0;
    for (unsigned c : a.FreeCores(ni)) cpus += a.host().cores[c].pus.Count();
    const bool cpus_fit =
        cpus >= t.vcpus + (t.isolate_emulator_thread ? a.host().threads_per_core : 0);
    const uint64_t need =
        t.hugepage_size_kib ? (t.memory_kib + t.hugepage_size_kib - 1) / t.hugepage_size_kib : 0;
    const bool pages_fit = !t.hugepage_size_kib || a.FreeHugepages(ni, t.hugepage_size_kib) >= need;
    const bool mem_fit = t.hugepage_size_kib || a.FreeBoundMemoryKib(ni) >= t.memory_kib;
    EXPECT_FALSE(cpus_fit && pages_fit && mem_fit)
        << p.vm << " spans " << p.numa_nodes.size() << " nodes but node " << a.host().nodes[ni].id
        << " had room";
  }
}

HostModel Configure(const std::string& machine, bool configured, AgentConfig& config) {
  HostModel host = LoadFixture(machine);
  if (!configured) return host;
  ReserveHugepages(host, 2048, 4096);  // 8 GiB of 2Mi pages per node
  ReserveHugepages(host, 1048576, 8);  // 8 GiB of 1Gi pages per node
  CpuSet iso;                          // every CPU but the first core of each node
  for (const auto& node : host.numa.nodes) iso |= node.cpus;
  for (const auto& node : host.numa.nodes)
    for (const auto& core : host.cpu.cores)
      if (core.pus.IsSubsetOf(node.cpus)) {
        iso -= core.pus;
        break;
      }
  Isolate(host, iso);
  MakeRealtimeReady(host);
  config.gpus["nvidia.com/A400"] = 2;
  return host;
}

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

class AllocatorProperties : public ::testing::TestWithParam<Variant> {};

TEST_P(AllocatorProperties, RandomPlaceAndFreeKeepEveryInvariant) {
  const Catalog catalog = BuiltinCatalog();
  unsigned machines = 0, placed = 0, refused = 0, freed = 0;
  for (const auto& machine : FixtureNames()) {
    SCOPED_TRACE(machine + (GetParam().configured ? " (configured)" : " (as is)"));
    AgentConfig config;
    const HostModel host = Configure(machine, GetParam().configured, config);
    Allocator a = MakeAllocator(host, config);
    const FreeView empty = View(a);
    std::mt19937 rng(20261125 + machines++);
    std::vector<std::string> live;
    for (unsigned step = 0; step < 5000; ++step) {
      if (live.empty() || rng() % 3 != 0) {
        const InstanceType& t = catalog.types[rng() % catalog.types.size()];
        const std::string vm = "vm-" + std::to_string(step);
        PlaceResult r = a.Place(t, vm);
        if (!r.placement) {
          ASSERT_FALSE(r.reasons.empty()) << t.name << " refused without a reason";
          ++refused;
          continue;
        }
        ExpectSingleNodeWhenItFits(a, t, *r.placement);
        ASSERT_NO_THROW(a.Commit(*r.placement)) << t.name;
        live.push_back(vm);
        ++placed;
      } else {
        const size_t i = rng() % live.size();
        // 7: freeing returns exactly what it took: the state equals one rebuilt without it.
        Allocator rebuilt = MakeAllocator(host, config);
        for (const auto& [vm, p] : a.placements())
          if (vm != live[i]) rebuilt.Commit(p);
        ASSERT_TRUE(a.Release(live[i]));
        EXPECT_TRUE(View(a) == View(rebuilt))
            << "release of " << live[i] << " left a different state";
        live.erase(live.begin() + static_cast<long>(i));
        ++freed;
      }
      const auto violations = CheckInvariants(a, catalog);
      ASSERT_TRUE(violations.empty()) << "step " << step << ": " << violations.front();
    }
    for (const auto& vm : live) ASSERT_TRUE(a.Release(vm));
    EXPECT_TRUE(View(a) == empty) << "freeing everything did not restore the empty state";
  }
  EXPECT_EQ(machines, 12u);
  // The sequences must really exercise both paths, or the test proves nothing.
  EXPECT_GT(placed, 1000u);
  EXPECT_GT(refused, 100u);
  EXPECT_GT(freed, 500u);
  std::cout << "placed " << placed << ", refused " << refused << ", freed " << freed << "\n";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AllocatorProperties,
                         ::testing::Values(Variant{"AsIs", false}, Variant{"Configured", true}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kvhost::testing
