// The text pin, unpin and reconcile print (shared by the CLI's own path and
// the daemon's answers over the control socket).
#pragma once

#include <string>

#include "agent/pinning/pinner.h"

namespace kvhost {

std::string DescribeReconcile(const ReconcileReport& report);
std::string DescribePin(const PinOutcome& outcome, bool json);
std::string DescribeUnpin(const std::string& domain, bool unpinned);

}  // namespace kvhost
