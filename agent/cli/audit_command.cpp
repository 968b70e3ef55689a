#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "agent/cli/commands.h"
#include "agent/libvirt/connection_set.h"
#include "agent/pinning/audit_what_runs.h"
#include "agent/report/host_report.h"

namespace kvhost::cli {
namespace {

std::string Format(const v1::AuditReport& r) {
  std::ostringstream out;
  out << r.domains_checked() << " running domain(s) checked, " << r.violations_size()
      << " violation(s)";
  if (r.domains_not_managed() > 0)
    out << "; " << r.domains_not_managed() << " outside `domains`, not checked";
  out << "\n";
  for (const auto& v : r.violations())
    out << "- " << v.domain() << " [" << v.rule() << "] CPUs " << v.cpus() << ": " << v.detail()
        << "\n    fix: " << v.fix() << "\n";
  return out.str();
}

}  // namespace

v1::AuditReport AuditWhatRuns(const HostOptions& options, const LiveHost& live,
                              const std::vector<const LibvirtConnection*>& connections) {
  return kvhost::AuditWhatRuns(live, options.LoadCatalog(), options.StateDir(), connections);
}

int PrintAudit(const v1::AuditReport& report, const std::string& output) {
  std::cout << (output == "json" ? ToJson(report) : Format(report));
  return report.violations_size() ? 4 : 0;
}

void AddAuditCommand(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<HostOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "Check every running domain's pinning against the placement owner's rules");
  opt->AddTo(cmd, true);
  cmd->add_option("--connect", opt->connect, "libvirt URI (repeatable; default qemu:///system)");
  cmd->add_option("--state-dir", opt->state_dir,
                  "The agent's state (read only, for types and intended spans; default "
                  "<root>/var/lib/kvhost-agent)");
  cmd->callback([opt, &exit_code] {
    const LiveHost live = opt->LoadAuditView();
    ConnectionSet connections(
        opt->connect.empty() ? std::vector<std::string>{"qemu:///system"} : opt->connect,
        std::nullopt, ConnectionSet::Retrying::kOnce, opt->ManagedDomains());
    exit_code = PrintAudit(AuditWhatRuns(*opt, live, OpenConnections(connections)), opt->output);
  });
}

}  // namespace kvhost::cli
