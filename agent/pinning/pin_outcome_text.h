// What pin, unpin and reconcile print, as text or as the JSON of -o json
// (agent/pinning/pin_commands.h, wherever the command runs).
#pragma once

#include <string>

#include "agent/pinning/pinner.h"
#include "pinning.pb.h"

namespace kvhost {

v1::ReconcileResult ReconcileResultOf(const ReconcileReport& report);
std::string DescribeReconcile(const v1::ReconcileResult& result);
std::string DescribePin(const PinOutcome& outcome, bool json);
std::string DescribeUnpin(const v1::UnpinResult& result, bool json);

}  // namespace kvhost
