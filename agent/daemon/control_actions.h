// The daemon's side of the control socket: pin, unpin or reconcile with the
// daemon's pinner, answering what the command would print and exit with.
#pragma once

#include "agent/pinning/pinner.h"
#include "control.pb.h"

namespace kvhost {

v1::ControlResponse ActForControlRequest(const v1::ControlRequest& request, Pinner& pinner);

}  // namespace kvhost
