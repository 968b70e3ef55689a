#include "agent/cli/inspect_text.h"

#include <cstdio>
#include <sstream>

#include "base/sizes.h"

namespace kvhost {
namespace {

std::string OrNone(const std::string& s) { return s.empty() ? "none" : s; }

const char* VerdictWord(v1::Verdict v) {
  switch (v) {
    case v1::VERDICT_OK:
      return "ok";
    case v1::VERDICT_WARN:
      return "warn";
    case v1::VERDICT_FAIL:
      return "FAIL";
    default:
      return "unknown";
  }
}

}  // namespace

std::string FormatHostSummary(const v1::HostReport& r) {
  std::ostringstream out;
  const auto& t = r.topology();
  out << "host " << r.root() << (t.cpu_model().empty() ? "" : "  " + t.cpu_model()) << "\n";
  out << "cpus      " << t.pus() << " online (" << t.online_cpus() << "), offline "
      << OrNone(t.offline_cpus()) << "\n";
  out << "          " << t.packages() << " package(s), " << t.cores() << " cores, "
      << t.threads_per_core() << " thread(s)/core\n";
  out << "l3        ";
  for (int i = 0; i < t.l3_groups_size(); ++i) out << (i ? " | " : "") << t.l3_groups(i);
  out << (t.l3_groups_size() ? "" : "none") << "\n";

  out << "numa      " << t.numa_nodes_size() << " node(s)\n";
  for (const auto& n : t.numa_nodes()) {
    char line[64];
    std::snprintf(line, sizeof line, "  node %-3u %10s  cpus ", n.id(),
                  FormatKib(n.memory_kib()).c_str());
    out << line << (n.cpus().empty() ? "none (memory only)" : n.cpus());
    for (const auto& p : n.hugepages())
      if (p.total() || p.free())
        out << "  hp" << FormatKib(p.size_kib()) << " " << p.free() << "/" << p.total() << " free";
    out << "\n";
  }
  if (t.numa_nodes_size() > 1 && t.numa_nodes(0).distances_size() > 0) {
    out << "  distances";
    for (const auto& n : t.numa_nodes())
      out << " " << n.id() << ":[" << [&] {
        std::string row;
        for (int i = 0; i < n.distances_size(); ++i)
          row += (i ? " " : "") + std::to_string(n.distances(i));
        return row;
      }() << "]";
    out << "\n";
  }
  if (!t.cpus_without_numa().empty()) out << "  cpus in no node: " << t.cpus_without_numa() << "\n";

  const auto& hp = r.hugepages();
  out << "hugepages default "
      << (hp.default_size_kib() ? FormatKib(hp.default_size_kib()) : "unknown");
  for (const auto& p : hp.global())
    out << "; " << FormatKib(p.size_kib()) << " " << p.free() << "/" << p.total() << " free"
        << (p.reserved() ? " (" + std::to_string(p.reserved()) + " reserved)" : "");
  out << "\n";

  const auto& iso = r.isolation();
  out << "isolation isolated " << OrNone(iso.isolated_cpus());
  if (iso.has_isolcpus()) out << " (isolcpus=" << iso.isolcpus().raw() << ")";
  out << ", nohz_full " << OrNone(iso.nohz_full().empty() ? iso.sysfs_nohz_full() : iso.nohz_full())
      << ", rcu_nocbs " << OrNone(iso.rcu_nocbs()) << ", irqaffinity " << OrNone(iso.irqaffinity())
      << "\n";

  const auto& rt = r.realtime();
  out << "realtime  " << (rt.ready() ? "ready" : "not ready") << "\n";
  const std::pair<const char*, const v1::Fact*> facts[] = {
      {"preempt_rt", &rt.preempt_rt()},          {"sched_rt_runtime_us", &rt.sched_rt_runtime_us()},
      {"isolated cpus", &rt.isolated_cpus()},    {"governors", &rt.isolated_cpu_governors()},
      {"thp", &rt.transparent_hugepages()},      {"kvm", &rt.kvm()},
      {"guest rt budget", &rt.guest_rt_budget()}};
  for (const auto& [name, f] : facts) {
    char line[64];
    std::snprintf(line, sizeof line, "  %-20s %-7s ", name, VerdictWord(f->verdict()));
    out << line << (f->value().empty() ? "-" : f->value()) << "  (" << f->reason() << ")\n";
  }
  if (r.has_container_runtime()) {
    const auto& cr = r.container_runtime();
    out << "runtime   " << cr.name() << " (" << cr.source() << "); IRQ steering for "
        << "irq-load-balancing.crio.io: disable by "
        << (cr.agent_steers_irqs() ? "the agent" : "the runtime") << "\n";
  }
  for (const auto& w : r.warnings()) out << "warning: " << w << "\n";
  return out.str();
}

}  // namespace kvhost
