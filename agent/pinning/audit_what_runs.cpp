#include "agent/pinning/audit_what_runs.h"

#include <spdlog/spdlog.h>

#include "agent/kubelet/cpu_manager_state.h"
#include "agent/pinning/audit_report.h"
#include "agent/pinning/audit_survey.h"
#include "agent/pinning/kubelet_audit.h"
#include "agent/pinning/kubelet_survey.h"
#include "base/errors.h"

namespace kvhost {
namespace {

// kubelet places: each domain is judged against its pod's exclusive cpuset,
// by the rules of the kubelet config the live loader read.
std::vector<AuditViolation> AuditAgainstKubelet(const LiveHost& live,
                                                std::vector<AuditDomain> domains) {
  const SysfsRoot sysfs = live.host.root.Sysfs();
  const auto state = kubelet::ReadCpuManagerState(sysfs, &live.resources->online);
  if (!state)
    throw InputError(sysfs.PathOf(kubelet::kCpuManagerStatePath),
                     "absent, but the placement owner is kubelet (" + live.owner.why + ")");
  const bool full_pcpus_only = live.kubelet && live.kubelet->CpuOption("full-pcpus-only");
  return AuditKubeletPlacement(*live.resources, *state, full_pcpus_only,
                               SurveyKubeletDomains(std::move(domains), sysfs));
}

}  // namespace

v1::AuditReport AuditWhatRuns(const LiveHost& live, const Catalog& catalog,
                              const std::filesystem::path& state_dir,
                              const std::vector<const LibvirtConnection*>& connections) {
  const auto allocations = ReadSavedAllocations(state_dir.string());
  std::vector<AuditDomain> domains = SurveyRunningDomains(connections, catalog, allocations);
  const size_t checked = domains.size();
  const std::vector<AuditViolation> violations =
      live.owner.owner == PlacementOwner::kKubelet
          ? AuditAgainstKubelet(live, std::move(domains))
          : AuditPinning(*live.resources, domains, &live.host.numa);
  for (const auto& v : violations)
    spdlog::warn("audit: {} [{}] CPUs {}: {}", v.domain, v.rule, v.cpus.ToList(), v.detail);
  v1::AuditReport report = AuditReportToProto(violations, checked);
  size_t not_managed = 0;
  for (const LibvirtConnection* c : connections)
    not_managed += c->ListRunningUnmanagedDomains().size();
  report.set_domains_not_managed(static_cast<uint32_t>(not_managed));
  return report;
}

}  // namespace kvhost
