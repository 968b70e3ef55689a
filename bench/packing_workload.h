// The workload of bench/packing: a weighted mix of seed instance types and a
// reproducible stream of arrivals (Poisson) with exponential lifetimes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/catalog/instance_type.h"
#include "bench/host_variant.h"
#include "bench/packing_policies.h"

namespace kvhost::bench {

struct MixEntry {
  const InstanceType* type = nullptr;
  double weight = 0;
};

// The default mix over the seed catalog: mostly small and medium sizes, some
// large; about half the arrivals dedicated (cx1, n1, rt1), half shared (u1,
// o1, m1, gn1). Throws std::logic_error if the catalog lacks one of them.
std::vector<MixEntry> DefaultMix(const Catalog& catalog);

// Expected fluid demand of one arrival drawn from the mix.
struct MeanDemand {
  double dedicated_cpus = 0;
  double shared_vcpus = 0;
  double two_mi_kib = 0;
  double one_gi_kib = 0;
  double ordinary_kib = 0;
};
MeanDemand MeanDemandOf(const std::vector<MixEntry>& mix);

// A variant shaped after the mix: each node's cores split between the
// dedicated and the shared pool, and its memory between 2Mi pages, 1Gi pages
// and ordinary memory, in proportion to what the mix asks of each. Then no
// pool is idle while another turns VMs away, whatever the host's shape.
VariantShape ShapeFor(const MeanDemand& demand, double shared_cpu_ratio);

// Arrivals per simulated hour that load the host's scarcest fluid resource
// (GPUs aside: the few gn1 VMs would set the pace for everything else) to
// `load` x its capacity, given the mean lifetime.
double ArrivalRate(const MeanDemand& demand, const FluidCapacity& capacity, double load,
                   double mean_lifetime_h);

struct Arrival {
  unsigned vm = 0;
  double at_h = 0;
  double lifetime_h = 0;
  const InstanceType* type = nullptr;
};

// Arrivals in [0, horizon_h), ordered by time. The same (seed, stream name)
// gives the same stream on any machine: the generator is std::mt19937_64,
// whose output the standard fixes, and the draws are computed here rather
// than by <random>'s distributions, whose algorithms are left to the library.
std::vector<Arrival> MakeArrivals(const std::vector<MixEntry>& mix, double rate_per_h,
                                  double mean_lifetime_h, double horizon_h, uint64_t seed,
                                  std::string_view stream_name);

}  // namespace kvhost::bench
