#include "bench/host_variant.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "base/sizes.h"

namespace kvhost::bench {
namespace {

// Sets the node's pool of `size_kib` to `pages`, all free, adding it if absent.
void SetPool(HostModel& host, unsigned node, uint64_t size_kib, uint64_t pages) {
  auto& pools = host.hugepages.per_node[node];
  for (auto& p : pools) {
    if (p.size_kib == size_kib) {
      p = HugepagePool{size_kib, pages, pages, 0, 0};
      return;
    }
  }
  pools.push_back({size_kib, pages, pages, 0, 0});
}

// Cores of `node`, by first CPU: the fixtures list cores that way already.
std::vector<const PhysicalCore*> CoresOf(const HostModel& host, const NumaNode& node) {
  std::vector<const PhysicalCore*> out;
  for (const auto& core : host.cpu.cores)
    if (!core.pus.Empty() && core.pus.IsSubsetOf(node.cpus)) out.push_back(&core);
  return out;
}

}  // namespace

ConfiguredHost ConfigureVariant(HostModel host, const VariantShape& shape) {
  ConfiguredHost out;
  CpuSet isolated;
  uint64_t two_mi_pages = 0, one_gi_pages = 0;  // per node, the smallest (for the summary)
  unsigned cpu_nodes = 0;
  bool first_node = true;
  for (const auto& node : host.numa.nodes) {
    if (node.cpus.Empty()) continue;  // memory-only nodes hold no guests of ours
    ++cpu_nodes;
    const auto cores = CoresOf(host, node);
    if (cores.size() >= 2) {
      // Cores after the reserved first one; isolate the highest ones so the
      // shared pool sits next to the housekeeping core, as operators do.
      const size_t rest = cores.size() - 1;
      const size_t dedicated = std::clamp<size_t>(
          static_cast<size_t>(std::lround(static_cast<double>(rest) * shape.dedicated_core_share)),
          1, rest > 1 ? rest - 1 : 1);
      for (size_t i = cores.size() - dedicated; i < cores.size(); ++i) isolated |= cores[i]->pus;
    }
    const uint64_t reserved = out.config.reserved_memory_kib_per_node;
    const uint64_t usable = node.memory_kib > reserved ? node.memory_kib - reserved : 0;
    const auto pages = [&](double share, uint64_t size) {
      return static_cast<uint64_t>(static_cast<double>(usable) * share) / size;
    };
    const uint64_t p2 = pages(shape.two_mi_memory_share, k2MiPageKib);
    const uint64_t p1 = pages(shape.one_gi_memory_share, k1GiPageKib);
    SetPool(host, node.id, k2MiPageKib, p2);
    SetPool(host, node.id, k1GiPageKib, p1);
    two_mi_pages = first_node ? p2 : std::min(two_mi_pages, p2);
    one_gi_pages = first_node ? p1 : std::min(one_gi_pages, p1);
    first_node = false;
  }
  host.isolation.isolated = isolated & host.cpu.online;
  // The facts rt1 needs; the bench asks what fits on a host that is ready.
  for (Fact* f : {&host.realtime.preempt_rt, &host.realtime.sched_rt_runtime_us,
                  &host.realtime.isolated_cpus, &host.realtime.kvm})
    f->verdict = Verdict::kOk;
  const unsigned gpus = shape.gpus_per_node * cpu_nodes;
  if (gpus) out.config.gpus[kGpuDevice] = gpus;
  out.config.source = "bench variant";

  char line[256];
  std::snprintf(
      line, sizeof line,
      "%u of %u CPUs isolated; per node: first core reserved, >= %llu x 2Mi + >= %llu x 1Gi "
      "pages; %u GPUs; realtime-ready",
      host.isolation.isolated.Count(), host.cpu.online.Count(),
      static_cast<unsigned long long>(two_mi_pages), static_cast<unsigned long long>(one_gi_pages),
      gpus);
  out.summary = line;
  out.model = std::move(host);
  return out;
}

}  // namespace kvhost::bench
