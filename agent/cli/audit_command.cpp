#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "agent/cli/commands.h"
#include "agent/kubelet/kubelet_config.h"
#include "agent/libvirt/connection_set.h"
#include "agent/live/kubelet_live.h"
#include "agent/pinning/audit_report.h"
#include "agent/pinning/audit_survey.h"
#include "agent/pinning/kubelet_survey.h"
#include "agent/report/host_report.h"
#include "base/errors.h"

namespace kvhost::cli {
namespace {

std::string Format(const v1::AuditReport& r) {
  std::ostringstream out;
  out << r.domains_checked() << " running domain(s) checked, " << r.violations_size()
      << " violation(s)\n";
  for (const auto& v : r.violations())
    out << "- " << v.domain() << " [" << v.rule() << "] CPUs " << v.cpus() << ": " << v.detail()
        << "\n    fix: " << v.fix() << "\n";
  return out.str();
}

// kubelet places: each domain is judged against its pod's exclusive cpuset.
std::vector<AuditViolation> AuditAgainstKubelet(const HostOptions& options, const LiveHost& live,
                                                std::vector<AuditDomain> domains) {
  const SysfsRoot sysfs(options.root);
  const auto state = kubelet::ReadCpuManagerState(sysfs, &live.resources->online);
  if (!state)
    throw InputError(sysfs.PathOf(kubelet::kCpuManagerStatePath),
                     "absent, but the placement owner is kubelet (" + live.owner.why + ")");
  const auto config = FindKubeletConfig(options.root, options.kubelet_config, options.LoadConfig());
  const bool full_pcpus_only = config && config->CpuOption("full-pcpus-only");
  return AuditKubeletPlacement(*live.resources, *state, full_pcpus_only,
                               SurveyKubeletDomains(std::move(domains), sysfs));
}

}  // namespace

v1::AuditReport AuditWhatRuns(const HostOptions& options, const LiveHost& live,
                              const std::vector<const LibvirtConnection*>& connections) {
  const Catalog catalog = options.LoadCatalog();
  const auto allocations = ReadSavedAllocations(options.StateDir().string());
  std::vector<AuditDomain> domains = SurveyRunningDomains(connections, catalog, allocations);
  const size_t checked = domains.size();
  const std::vector<AuditViolation> violations =
      live.owner.owner == PlacementOwner::kKubelet
          ? AuditAgainstKubelet(options, live, std::move(domains))
          : AuditPinning(*live.resources, domains, &live.host.numa);
  for (const auto& v : violations)
    spdlog::warn("audit: {} [{}] CPUs {}: {}", v.domain, v.rule, v.cpus.ToList(), v.detail);
  return AuditReportToProto(violations, checked);
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
    const LiveHost live = opt->LoadLiveShape();
    ConnectionSet connections(
        opt->connect.empty() ? std::vector<std::string>{"qemu:///system"} : opt->connect,
        std::nullopt);
    exit_code = PrintAudit(AuditWhatRuns(*opt, live, OpenConnections(connections)), opt->output);
  });
}

}  // namespace kvhost::cli
