// kvhost::AuditViolation (the audit's value) -> kvhost.v1.AuditReport (what
// `-o json` prints and publishers send). Kept apart from audit.h so the audit
// itself depends on no generated code.
#pragma once

#include <cstddef>
#include <vector>

#include "agent/pinning/audit.h"
#include "audit.pb.h"

namespace kvhost {

v1::AuditViolation AuditViolationToProto(const AuditViolation& violation);

v1::AuditReport AuditReportToProto(const std::vector<AuditViolation>& violations,
                                   size_t domains_checked);

}  // namespace kvhost
