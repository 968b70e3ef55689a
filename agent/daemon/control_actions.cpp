#include "agent/daemon/control_actions.h"

#include "agent/pinning/pin_commands.h"

namespace kvhost {

v1::ControlResponse ActForControlRequest(const v1::ControlRequest& request, Pinner& pinner) {
  return ResponseOf(RunPinningCommand(request, pinner, PinnerSource::kCurrent));
}

}  // namespace kvhost
