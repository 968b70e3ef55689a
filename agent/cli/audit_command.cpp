#include <iostream>
#include <sstream>

#include "agent/cli/commands.h"
#include "agent/host/discover.h"
#include "agent/libvirt/connection_set.h"
#include "agent/pinning/audit_report.h"
#include "agent/pinning/audit_survey.h"
#include "agent/report/host_report.h"

namespace kvhost::cli {
namespace {

struct AuditOptions : HostOptions {
  std::vector<std::string> connect;
  std::string state_dir = "/var/lib/kvhost-agent";
};

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
    const auto allocations = ReadSavedAllocations(opt->state_dir);
    ConnectionSet connections(
        opt->connect.empty() ? std::vector<std::string>{"qemu:///system"} : opt->connect,
        std::nullopt);
    const std::vector<AuditDomain> domains =
        SurveyRunningDomains(OpenConnections(connections), catalog, allocations);
    const auto report =
        AuditReportToProto(AuditPinning(resources, domains, &host.numa), domains.size());
    std::cout << (opt->output == "json" ? ToJson(report) : Format(report));
    exit_code = report.violations_size() ? 4 : 0;
  });
}

}  // namespace kvhost::cli
