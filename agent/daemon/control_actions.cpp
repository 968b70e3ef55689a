#include "agent/daemon/control_actions.h"

#include "agent/pinning/pin_commands.h"

namespace kvhost {

v1::ControlResponse ActForControlRequest(const v1::ControlRequest& request, Pinner& pinner) {
  return ResponseOf(RunPinningCommand(request, pinner, PinnerSource::kCurrent));
}

std::optional<v1::ControlResponse> RefuseOtherStateDir(const v1::ControlRequest& request,
                                                       const std::filesystem::path& state_dir) {
  if (request.state_dir().empty()) return std::nullopt;
  std::error_code ec;
  if (std::filesystem::weakly_canonical(request.state_dir(), ec) ==
      std::filesystem::weakly_canonical(state_dir, ec))
    return std::nullopt;
  v1::ControlResponse response;
  response.set_not_this_daemon(true);
  response.set_exit_code(2);
  response.set_error("this daemon keeps its allocations in " + state_dir.string() + ", not " +
                     request.state_dir());
  return response;
}

}  // namespace kvhost
