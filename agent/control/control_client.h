// The CLI's side of the control socket: ask a running daemon to act.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>

#include "control.pb.h"

namespace kvhost::control {

// The daemon's answer, or nullopt when no daemon listens at `path` (no socket
// file, or the connection is refused: a daemon that died): the caller then
// acts directly. Throws std::runtime_error naming the path for anything else
// (permission denied, a daemon that hangs up or answers garbage).
std::optional<v1::ControlResponse> AskDaemon(
    const std::filesystem::path& path, const v1::ControlRequest& request,
    std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace kvhost::control
