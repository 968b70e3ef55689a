#include "bench/packing_workload.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include "base/sizes.h"

namespace kvhost::bench {
namespace {

// Weights are arrivals per 100. Small and medium sizes dominate, as in a
// general-purpose cluster; the few large ones are what fragmentation hurts.
struct Weighted {
  std::string_view type;
  double weight;
};
constexpr Weighted kDefaultMix[] = {
    // Shared, ordinary memory (u1, o1 overcommitted) or 2Mi pages (m1), GPUs (gn1): 55.
    {"u1.small", 8},
    {"u1.medium", 10},
    {"u1.large", 7},
    {"u1.xlarge", 4},
    {"u1.2xlarge", 2},
    {"o1.small", 4},
    {"o1.medium", 5},
    {"o1.large", 3},
    {"o1.xlarge", 2},
    {"m1.large", 4},
    {"m1.xlarge", 2},
    {"gn1.xlarge", 3},
    {"gn1.2xlarge", 1},
    // Dedicated with an isolated emulator: cx1 on 2Mi pages, n1 and rt1 on 1Gi: 45.
    {"cx1.medium", 7},
    {"cx1.large", 10},
    {"cx1.xlarge", 7},
    {"cx1.2xlarge", 3},
    {"cx1.4xlarge", 1},
    {"n1.medium", 3},
    {"n1.large", 3},
    {"n1.xlarge", 2},
    {"rt1.small", 3},
    {"rt1.large", 3},
    {"rt1.xlarge", 2},
    {"rt1.2xlarge", 1},
};

// FNV-1a: mixes the stream name into the seed so each host has its own
// stream, unchanged by which other hosts a run includes.
uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Uniform in (0, 1): 53 random bits, centred so neither end is ever drawn.
double Uniform(std::mt19937_64& rng) {
  return (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0;
}

double Exponential(std::mt19937_64& rng, double mean) { return -mean * std::log(Uniform(rng)); }

}  // namespace

std::vector<MixEntry> DefaultMix(const Catalog& catalog) {
  std::vector<MixEntry> mix;
  for (const auto& [name, weight] : kDefaultMix) {
    const InstanceType* type = catalog.Find(std::string(name));
    if (!type) throw std::logic_error("packing mix: the catalog has no " + std::string(name));
    mix.push_back({type, weight});
  }
  return mix;
}

MeanDemand MeanDemandOf(const std::vector<MixEntry>& mix) {
  MeanDemand m;
  double total = 0;
  for (const auto& e : mix) total += e.weight;
  for (const auto& e : mix) {
    const FluidDemand d = DemandOf(*e.type);
    const double p = e.weight / total;
    m.dedicated_cpus += p * d.dedicated_cpus;
    m.shared_vcpus += p * d.shared_vcpus;
    const double page_kib = static_cast<double>(d.hugepages * d.hugepage_size_kib);
    if (d.hugepage_size_kib == k2MiPageKib) m.two_mi_kib += p * page_kib;
    if (d.hugepage_size_kib == k1GiPageKib) m.one_gi_kib += p * page_kib;
    m.ordinary_kib += p * static_cast<double>(d.ordinary_kib);
  }
  return m;
}

VariantShape ShapeFor(const MeanDemand& demand, double shared_cpu_ratio) {
  VariantShape shape;
  const double shared_cpus = demand.shared_vcpus / shared_cpu_ratio;
  shape.dedicated_core_share = demand.dedicated_cpus / (demand.dedicated_cpus + shared_cpus);
  const double memory = demand.two_mi_kib + demand.one_gi_kib + demand.ordinary_kib;
  shape.two_mi_memory_share = demand.two_mi_kib / memory;
  shape.one_gi_memory_share = demand.one_gi_kib / memory;
  return shape;
}

double ArrivalRate(const MeanDemand& demand, const FluidCapacity& capacity, double load,
                   double mean_lifetime_h) {
  const auto pages_kib = [&](uint64_t size) {
    auto it = capacity.hugepages.find(size);
    return it == capacity.hugepages.end() ? 0.0 : static_cast<double>(it->second * size);
  };
  const std::pair<double, double> resources[] = {
      // {capacity, mean demand per arrival}
      {capacity.dedicated_cpus, demand.dedicated_cpus},
      {capacity.shared_slots, demand.shared_vcpus},
      {pages_kib(k2MiPageKib), demand.two_mi_kib},
      {pages_kib(k1GiPageKib), demand.one_gi_kib},
      {static_cast<double>(capacity.ordinary_kib), demand.ordinary_kib},
  };
  // Little's law: VMs in the system = rate x lifetime; each resource is
  // loaded rate x lifetime x demand / capacity. The scarcest one sets the rate.
  double rate = std::numeric_limits<double>::infinity();
  for (const auto& [cap, need] : resources)
    if (cap > 0 && need > 0) rate = std::min(rate, load * cap / (need * mean_lifetime_h));
  if (!std::isfinite(rate))
    throw std::runtime_error("the host offers none of what the mix asks for");
  return rate;
}

std::vector<Arrival> MakeArrivals(const std::vector<MixEntry>& mix, double rate_per_h,
                                  double mean_lifetime_h, double horizon_h, uint64_t seed,
                                  std::string_view stream_name) {
  std::mt19937_64 rng(seed ^ Fnv1a(stream_name));
  double total = 0;
  for (const auto& e : mix) total += e.weight;
  std::vector<Arrival> out;
  double t = Exponential(rng, 1 / rate_per_h);
  while (t < horizon_h) {
    Arrival a;
    a.vm = static_cast<unsigned>(out.size());
    a.at_h = t;
    a.lifetime_h = Exponential(rng, mean_lifetime_h);
    double pick = Uniform(rng) * total;
    a.type = mix.back().type;  // rounding can leave `pick` a hair above the last bound
    for (const auto& e : mix) {
      if (pick < e.weight) {
        a.type = e.type;
        break;
      }
      pick -= e.weight;
    }
    out.push_back(a);
    t += Exponential(rng, 1 / rate_per_h);
  }
  return out;
}

}  // namespace kvhost::bench
