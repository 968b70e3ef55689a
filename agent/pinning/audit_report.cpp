#include "agent/pinning/audit_report.h"

namespace kvhost {

v1::AuditViolation AuditViolationToProto(const AuditViolation& violation) {
  v1::AuditViolation out;
  out.set_domain(violation.domain);
  out.set_rule(violation.rule);
  out.set_cpus(violation.cpus.ToList());
  out.set_detail(violation.detail);
  out.set_fix(violation.fix);
  return out;
}

v1::AuditReport AuditReportToProto(const std::vector<AuditViolation>& violations,
                                   size_t domains_checked) {
  v1::AuditReport report;
  for (const AuditViolation& violation : violations)
    *report.add_violations() = AuditViolationToProto(violation);
  report.set_domains_checked(static_cast<uint32_t>(domains_checked));
  return report;
}

}  // namespace kvhost
