#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <sstream>

#include "agent/cli/commands.h"
#include "agent/host/discover.h"
#include "agent/libvirt/connection_set.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/pinning/audit.h"
#include "agent/pinning/audit_report.h"
#include "agent/pinning/type_resolver.h"
#include "agent/report/host_report.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_store.h"

namespace kvhost::cli {
namespace {

struct AuditOptions : HostOptions {
  std::vector<std::string> connect;
  std::string state_dir = "/var/lib/kvhost-agent";
};

// The agent's own allocations, read without side effects: an audit must not
// move a damaged state file aside (the daemon's reconcile does that).
std::map<std::string, Placement> ReadAllocations(const std::string& state_dir) {
  std::map<std::string, Placement> out;
  const LoadedState loaded = StateStore(state_dir).Read();
  if (loaded.status == StateLoadStatus::kCorrupt)
    spdlog::warn("{}/state.pb not used by the audit: {}", state_dir, loaded.problem);
  for (const auto& a : loaded.state.allocations()) {
    try {
      out[a.domain_uuid()] = PlacementFromAllocation(a);
    } catch (const std::exception& e) {
      spdlog::warn("{}/state.pb: allocation {} not used by the audit: {}", state_dir, a.vm(),
                   e.what());
    }
  }
  return out;
}

std::string Format(const v1::AuditReport& r) {
  std::ostringstream out;
  out << r.domains_checked() << " running domain(s) checked, " << r.violations_size()
      << " violation(s)\n";
  for (const auto& v : r.violations())
    out << "- " << v.domain() << " [" << v.rule() << "] CPUs " << v.cpus() << ": " << v.detail()
        << "\n    fix: " << v.fix() << "\n";
  return out.str();
}

}  // namespace

void AddAuditCommand(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<AuditOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "Check every running domain's pinning against the placement rules");
  opt->AddTo(cmd, true);
  cmd->add_option("--connect", opt->connect, "libvirt URI (repeatable; default qemu:///system)");
  cmd->add_option("--state-dir", opt->state_dir,
                  "The agent's state (read only, for types and intended spans)")
      ->capture_default_str();
  cmd->callback([opt, &exit_code] {
    const HostModel host = DiscoverHost(opt->root);
    const HostResources resources = BuildHostResources(host, opt->LoadConfig());
    const Catalog catalog = opt->LoadCatalog();
    const auto allocations = ReadAllocations(opt->state_dir);
    ConnectionSet connections(
        opt->connect.empty() ? std::vector<std::string>{"qemu:///system"} : opt->connect,
        std::nullopt);
    std::vector<AuditDomain> domains;
    for (const LibvirtConnection* c : OpenConnections(connections)) {
      for (const DomainSummary& s : c->ListDomainSummaries()) {
        if (!s.active) continue;
        AuditDomain d;
        d.name = s.name;
        d.uuid = s.uuid;
        d.actual = ReadPinning(*c, c->LookupDomain(s.uuid), VIR_DOMAIN_AFFECT_CURRENT);
        std::optional<std::string> type_name;
        if (auto it = allocations.find(s.uuid); it != allocations.end()) {
          type_name = it->second.instance_type;
          d.dedicated = it->second.dedicated;
          d.numa_span_intended = it->second.numa_nodes.size() > 1;
        }
        try {
          const ResolvedType t = ResolveInstanceType(s, catalog, type_name);
          if (t.known) {
            d.instance_type = t.type.name;
            d.dedicated = t.type.Dedicated();
            d.isolate_emulator_thread = t.type.isolate_emulator_thread;
            d.realtime = t.type.realtime;
          }
        } catch (const std::exception& e) {
          spdlog::warn("{}: {}", s.name, e.what());
        }
        domains.push_back(std::move(d));
      }
    }
    const auto report =
        AuditReportToProto(AuditPinning(resources, domains, &host.numa), domains.size());
    std::cout << (opt->output == "json" ? ToJson(report) : Format(report));
    exit_code = report.violations_size() ? 4 : 0;
  });
}

}  // namespace kvhost::cli
