// The daemon's side of the control socket: pin, unpin or reconcile with the
// daemon's pinner, answering what the command would print and exit with.
#pragma once

#include <filesystem>
#include <optional>

#include "agent/pinning/pinner.h"
#include "control.pb.h"

namespace kvhost {

v1::ControlResponse ActForControlRequest(const v1::ControlRequest& request, Pinner& pinner);

// A CLI naming another state directory (a test, a second setup) is not this
// daemon's business: it acts on those allocations itself. The refusal, or
// nothing when the request is this daemon's.
std::optional<v1::ControlResponse> RefuseOtherStateDir(const v1::ControlRequest& request,
                                                       const std::filesystem::path& state_dir);

}  // namespace kvhost
