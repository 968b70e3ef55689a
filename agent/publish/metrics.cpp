#include "agent/publish/metrics.h"

#include <spdlog/fmt/fmt.h>

#include <map>

#include "base/cpu_set.h"

namespace kvhost::publish {
namespace {

using LabelSet = std::vector<std::pair<std::string, std::string>>;

// Label values escaped as the exposition format requires.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Writer {
 public:
  // One family: HELP and TYPE once, then its samples.
  void Family(const std::string& name, const char* type, const char* help) {
    name_ = name;
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void Sample(const LabelSet& labels, double value) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i)
        out_ += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, Escape(labels[i].second));
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string name_;
  std::string out_;
};

unsigned CpuCount(const std::string& cpulist) { return ParseCpuList(cpulist).Count(); }

void WriteCapacity(const v1::CapacityReport& capacity, Writer& w) {
  w.Family("kvhost_instance_type_capacity", "gauge",
           "How many more VMs of the instance type fit on this host now.");
  for (const auto& t : capacity.instance_types())
    w.Sample({{"instance_type", t.name()}, {"series", t.series()}}, t.count());
  w.Family("kvhost_fragmentation_ratio", "gauge",
           "Mean fraction of free dedicated CPUs and hugepages no instance type can use.");
  w.Sample({}, capacity.fragmentation().score());
}

void WriteNodeCpus(const v1::CapacityReport& capacity, Writer& w) {
  struct Column {
    const char* name;
    const char* help;
    const std::string& (v1::NodeCapacity::*cpus)() const;
  };
  const Column columns[] = {
      {"kvhost_numa_node_dedicated_cpus", "CPUs of the NUMA node in the dedicated pool.",
       &v1::NodeCapacity::dedicated_cpus},
      {"kvhost_numa_node_free_dedicated_cpus", "Dedicated-pool CPUs of the NUMA node no VM holds.",
       &v1::NodeCapacity::free_dedicated_cpus},
      {"kvhost_numa_node_shared_cpus", "CPUs of the NUMA node shared guests float on now.",
       &v1::NodeCapacity::shared_cpus},
      {"kvhost_numa_node_reserved_cpus", "Housekeeping CPUs of the NUMA node.",
       &v1::NodeCapacity::reserved_cpus},
  };
  for (const auto& c : columns) {
    w.Family(c.name, "gauge", c.help);
    for (const auto& node : capacity.nodes())
      w.Sample({{"numa_node", std::to_string(node.id())}}, CpuCount((node.*c.cpus)()));
  }
}

void WriteNodeMemory(const v1::CapacityReport& capacity, Writer& w) {
  auto per_size = [&](const char* name, const char* help, bool free) {
    w.Family(name, "gauge", help);
    for (const auto& node : capacity.nodes())
      for (const auto& pool : node.hugepages())
        w.Sample({{"numa_node", std::to_string(node.id())},
                  {"page_size_bytes", std::to_string(pool.size_kib() * 1024)}},
                 static_cast<double>((free ? pool.free() : pool.total()) * pool.size_kib() * 1024));
  };
  per_size("kvhost_numa_node_hugepages_free_bytes", "Hugepage memory of the NUMA node no VM holds.",
           true);
  per_size("kvhost_numa_node_hugepages_bytes", "Hugepage pool of the NUMA node.", false);
  w.Family("kvhost_numa_node_ordinary_memory_free_bytes", "gauge",
           "Ordinary (non-hugepage) memory of the NUMA node guests may still take.");
  for (const auto& node : capacity.nodes())
    w.Sample({{"numa_node", std::to_string(node.id())}},
             static_cast<double>(node.free_ordinary_memory_kib() * 1024));
}

void WriteAgent(const v1::NodeReport& report, Writer& w) {
  w.Family("kvhost_build_info", "gauge",
           "Always 1; the version, commit and build type of the running kvhost-agent.");
  w.Sample({{"version", report.stats().version()},
            {"commit", report.stats().git_commit()},
            {"build_type", report.stats().build_type()}},
           1);
  w.Family("kvhost_placement_owner_info", "gauge",
           "Always 1; who places dedicated VMs on this host (agent or kubelet).");
  w.Sample({{"owner", report.placement().owner()}}, 1);
  w.Family("kvhost_capacity_known", "gauge",
           "1 when the placement owner's capacity is known; 0: no capacity figure is published "
           "(the reason is in /v1/report's capacityUnknown and the log).");
  w.Sample({}, report.capacity_unknown().empty() ? 1 : 0);
  w.Family("kvhost_realtime_ready", "gauge", "1 when the host may place realtime (rt1) guests.");
  w.Sample({}, report.host().realtime().ready() ? 1 : 0);
  if (report.has_last_qualification()) {
    w.Family("kvhost_rt_max_latency_seconds", "gauge",
             "Worst OS latency oslat measured per CPU in the last qualification run.");
    for (const auto& cpu : report.last_qualification().cpus())
      w.Sample({{"cpu", std::to_string(cpu.cpu())}}, cpu.max_us() / 1e6);
  }
  if (report.last_qualified_unix() > 0) {
    w.Family("kvhost_rt_last_qualified_timestamp_seconds", "gauge",
             "Start of the last passing realtime qualification on isolated CPUs.");
    w.Sample({}, static_cast<double>(report.last_qualified_unix()));
  }
  std::map<bool, unsigned> pinned{{true, 0}, {false, 0}};
  for (const auto& a : report.allocations()) ++pinned[a.dedicated()];
  w.Family("kvhost_pinned_vms", "gauge", "VMs the agent has placed, by CPU kind.");
  w.Sample({{"cpu", "dedicated"}}, pinned[true]);
  w.Sample({{"cpu", "shared"}}, pinned[false]);
  w.Family("kvhost_audit_violations", "gauge",
           "Pinning rules broken by running domains at the last audit.");
  w.Sample({}, report.audit().violations_size());
  w.Family("kvhost_refresh_duration_seconds", "gauge", "How long the last refresh took.");
  w.Sample({}, report.stats().refresh_duration_seconds());
  w.Family("kvhost_refreshes_total", "counter", "Refreshes since the agent started.");
  w.Sample({}, static_cast<double>(report.stats().refreshes()));
  w.Family("kvhost_last_publish_timestamp_seconds", "gauge",
           "Unix time of the last publish of this report.");
  w.Sample({}, report.stats().published_unix_seconds());
}

}  // namespace

std::string FormatMetrics(const v1::NodeReport& report) {
  Writer w;
  WriteAgent(report, w);
  // Unknown is not a number: no capacity family at all rather than zeros.
  if (!report.capacity_unknown().empty()) return w.Take();
  WriteCapacity(report.capacity(), w);
  WriteNodeCpus(report.capacity(), w);
  WriteNodeMemory(report.capacity(), w);
  return w.Take();
}

}  // namespace kvhost::publish
