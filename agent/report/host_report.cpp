#include "agent/report/host_report.h"

#include <google/protobuf/util/json_util.h>

#include <stdexcept>

namespace kvhost {
namespace {

void FillPool(const HugepagePool& from, v1::HugepagePool* to) {
  to->set_size_kib(from.size_kib);
  to->set_total(from.total);
  to->set_free(from.free);
  to->set_surplus(from.surplus);
  to->set_reserved(from.reserved);
}

v1::Verdict ToProto(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return v1::VERDICT_OK;
    case Verdict::kWarn:
      return v1::VERDICT_WARN;
    case Verdict::kFail:
      return v1::VERDICT_FAIL;
    case Verdict::kUnknown:
      return v1::VERDICT_UNKNOWN;
  }
  return v1::VERDICT_UNSPECIFIED;
}

void FillFact(const Fact& from, v1::Fact* to) {
  to->set_value(from.value);
  to->set_verdict(ToProto(from.verdict));
  to->set_reason(from.reason);
}

void FillTopology(const HostModel& host, v1::Topology* t) {
  const CpuTopology& cpu = host.cpu;
  t->set_packages(cpu.packages);
  t->set_cores(static_cast<uint32_t>(cpu.cores.size()));
  t->set_pus(cpu.online.Count());
  t->set_threads_per_core(cpu.threads_per_core);
  t->set_cpu_model(cpu.cpu_model);
  t->set_online_cpus(cpu.online.ToList());
  t->set_offline_cpus(cpu.offline.ToList());
  t->set_cpus_without_numa(host.numa.cpus_without_node.ToList());
  for (const auto& n : host.numa.nodes) {
    auto* node = t->add_numa_nodes();
    node->set_id(n.id);
    node->set_cpus(n.cpus.ToList());
    node->set_memory_kib(n.memory_kib);
    for (unsigned d : n.distances) node->add_distances(d);
    if (auto it = host.hugepages.per_node.find(n.id); it != host.hugepages.per_node.end())
      for (const auto& p : it->second) FillPool(p, node->add_hugepages());
  }
  for (const auto& l3 : cpu.l3_groups) t->add_l3_groups(l3.ToList());
  for (const auto& c : cpu.cores) {
    auto* core = t->add_core_list();
    core->set_package(c.package);
    core->set_numa_node(host.numa.NodeOf(static_cast<unsigned>(c.pus.First())).value_or(0));
    core->set_cpus(c.pus.ToList());
  }
}

void FillIsolation(const Isolation& iso, v1::Isolation* out) {
  out->set_isolated_cpus(iso.isolated.ToList());
  if (iso.isolcpus) {
    auto* ic = out->mutable_isolcpus();
    ic->set_raw(iso.isolcpus->raw);
    ic->set_cpus(iso.isolcpus->cpus.ToList());
    for (const auto& f : iso.isolcpus->flags) ic->add_flags(f);
    ic->set_domain_isolated(iso.isolcpus->domain_isolated);
  }
  auto list = [](const std::optional<CpuSet>& s) { return s ? s->ToList() : std::string(); };
  out->set_nohz_full(list(iso.nohz_full));
  out->set_rcu_nocbs(list(iso.rcu_nocbs));
  out->set_irqaffinity(list(iso.irqaffinity));
  out->set_sysfs_isolated(list(iso.sysfs_isolated));
  out->set_sysfs_nohz_full(list(iso.sysfs_nohz_full));
}

}  // namespace

v1::HostReport BuildHostReport(const HostModel& host) {
  v1::HostReport report;
  report.set_root(host.root.path().string());
  FillTopology(host, report.mutable_topology());
  auto* hp = report.mutable_hugepages();
  hp->set_default_size_kib(host.hugepages.default_size_kib);
  for (const auto& p : host.hugepages.global) FillPool(p, hp->add_global());
  FillIsolation(host.isolation, report.mutable_isolation());
  auto* rt = report.mutable_realtime();
  FillFact(host.realtime.preempt_rt, rt->mutable_preempt_rt());
  FillFact(host.realtime.sched_rt_runtime_us, rt->mutable_sched_rt_runtime_us());
  FillFact(host.realtime.isolated_cpus, rt->mutable_isolated_cpus());
  FillFact(host.realtime.isolated_cpu_governors, rt->mutable_isolated_cpu_governors());
  FillFact(host.realtime.transparent_hugepages, rt->mutable_transparent_hugepages());
  FillFact(host.realtime.kvm, rt->mutable_kvm());
  FillFact(host.realtime.guest_rt_budget, rt->mutable_guest_rt_budget());
  rt->set_ready(host.realtime.Ready());
  for (const auto& b : host.realtime.Blockers()) rt->add_blockers(b);
  for (const auto& w : host.warnings) report.add_warnings(w);
  return report;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) throw std::runtime_error("JSON encoding failed: " + status.ToString());
  return out;
}

}  // namespace kvhost
