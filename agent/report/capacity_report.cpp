#include "agent/report/capacity_report.h"

#include <cstdio>
#include <sstream>

#include "base/sizes.h"

namespace kvhost {
namespace {

std::string Needs(const InstanceType& t) {
  std::string s = std::to_string(t.vcpus) + " vCPU" + (t.vcpus == 1 ? "" : "s");
  s += t.Dedicated() ? " on dedicated cores" : " shared";
  if (t.isolate_emulator_thread) s += " + 1 emulator CPU";
  s += ", " + FormatKib(t.memory_kib);
  if (t.hugepage_size_kib) s += " in " + FormatKib(t.hugepage_size_kib) + " hugepages";
  if (t.overcommit_percent) s += " (" + std::to_string(t.overcommit_percent) + "% overcommit)";
  if (t.realtime) s += ", realtime";
  if (t.gpus) s += ", " + std::to_string(t.gpus) + " GPU";
  return s;
}

// "3 CPUs (0,8,16)": a count where a count is read, the list beside it.
std::string CountedCpus(const std::string& cpulist) {
  const unsigned n = ParseCpuList(cpulist).Count();
  return std::to_string(n) + (n == 1 ? " CPU" : " CPUs") + (n ? " (" + cpulist + ")" : "");
}

void FillNodes(const Allocator& state, v1::CapacityReport* report) {
  const HostResources& host = state.host();
  const CpuSet free_dedicated = state.FreeDedicatedCpus();
  const CpuSet shared_now = state.SharedPoolNow();
  for (size_t i = 0; i < host.nodes.size(); ++i) {
    const NodeResources& node = host.nodes[i];
    CpuSet node_cpus;
    for (const auto& core : host.cores)
      if (core.node == node.id) node_cpus |= core.pus;
    auto* out = report->add_nodes();
    out->set_id(node.id);
    out->set_dedicated_cpus(node.dedicable_cpus.ToList());
    out->set_free_dedicated_cpus((node.dedicable_cpus & free_dedicated).ToList());
    out->set_shared_cpus((node_cpus & shared_now).ToList());
    out->set_reserved_cpus((node_cpus & host.reserved).ToList());
    out->set_ordinary_memory_kib(node.ordinary_memory_kib);
    out->set_free_ordinary_memory_kib(state.FreeBoundMemoryKib(i));
    for (const auto& [size_kib, total] : node.hugepages_total) {
      auto* pages = out->add_hugepages();
      pages->set_size_kib(size_kib);
      pages->set_total(total);
      pages->set_free(state.FreeHugepages(i, size_kib));
    }
  }
}

}  // namespace

v1::CapacityReport BuildCapacityReport(const Allocator& state,
                                       const std::vector<TypeCapacity>& types,
                                       const FragmentationScore& fragmentation,
                                       const std::vector<std::string>& what_if) {
  v1::CapacityReport report;
  for (const auto& c : types) {
    auto* out = report.add_instance_types();
    out->set_name(c.type->name);
    out->set_series(c.type->series);
    out->set_count(c.count);
    for (std::string_view b : c.blockers) out->add_blockers(b.data(), b.size());
    out->set_vcpus(c.type->vcpus);
    out->set_memory_kib(c.type->memory_kib);
    out->set_dedicated(c.type->Dedicated());
  }
  const HostResources& host = state.host();
  auto* pools = report.mutable_pools();
  pools->set_reserved_cpus(host.reserved.ToList());
  pools->set_dedicated_cpus(host.dedicated.ToList());
  // As it stands now: CPUs a dedicated VM (or a what-if) holds are not shared.
  pools->set_shared_cpus(state.SharedPoolNow().ToList());
  pools->set_shared_cpu_ratio(host.shared_cpu_ratio);
  pools->set_shared_vcpu_slots(state.SharedSlots());
  pools->set_shared_vcpus_used(state.SharedVcpusUsed());
  pools->set_ordinary_memory_kib(host.ordinary_memory_kib);
  pools->set_free_ordinary_memory_kib(state.FreeOrdinaryMemoryKib());
  pools->set_free_dedicated_cpus(state.FreeDedicatedCpus().ToList());
  auto* f = report.mutable_fragmentation();
  f->set_score(fragmentation.score);
  f->set_free_dedicated_cpus(fragmentation.free_dedicated_cpus);
  f->set_stranded_dedicated_cpus(fragmentation.stranded_dedicated_cpus);
  f->set_free_hugepage_kib(fragmentation.free_hugepage_kib);
  f->set_stranded_hugepage_kib(fragmentation.stranded_hugepage_kib);
  for (const auto& w : what_if) report.add_what_if(w);
  FillNodes(state, &report);
  report.set_allow_numa_span(host.allow_numa_span);
  return report;
}

std::string FormatCapacityTable(const v1::CapacityReport& r) {
  std::ostringstream out;
  for (const auto& w : r.what_if()) out << "what-if: " << w << "\n";
  const auto& p = r.pools();
  out << "pools: dedicated " << CountedCpus(p.dedicated_cpus()) << ", "
      << CountedCpus(p.free_dedicated_cpus()) << " free; shared " << CountedCpus(p.shared_cpus())
      << ", " << p.shared_vcpus_used() << "/" << p.shared_vcpu_slots()
      << " vCPU slots used; reserved " << CountedCpus(p.reserved_cpus()) << "; ordinary memory "
      << FormatKib(p.free_ordinary_memory_kib()) << " free\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-14s %6s  %s\n", "TYPE", "FITS", "LIMITED BY");
  out << line;
  for (const auto& t : r.instance_types()) {
    std::snprintf(line, sizeof line, "%-14s %6u  ", t.name().c_str(), t.count());
    out << line << (t.blockers_size() ? t.blockers(0) : "-");
    if (t.blockers_size() > 1)
      out << " (+" << t.blockers_size() - 1 << " more: explain " << t.name() << ")";
    out << "\n";
  }
  const auto& f = r.fragmentation();
  std::snprintf(line, sizeof line,
                "fragmentation %.2f: %u of %u free dedicated CPUs and %s of %s free hugepages no "
                "type can use\n",
                f.score(), f.stranded_dedicated_cpus(), f.free_dedicated_cpus(),
                FormatKib(f.stranded_hugepage_kib()).c_str(),
                FormatKib(f.free_hugepage_kib()).c_str());
  out << line;
  return out.str();
}

std::string FormatExplain(const TypeCapacity& c) {
  std::ostringstream out;
  out << c.type->name << ": needs " << Needs(*c.type) << "\n";
  if (c.count == 0)
    out << c.type->name << " does not fit now:\n";
  else
    out << c.count << " more fit now; the next one does not:\n";
  for (const auto& b : c.blockers) out << "  - " << b << "\n";
  return out.str();
}

}  // namespace kvhost
