// pin, unpin and reconcile as commands: the checks each makes, what the
// pinner does, what is printed (text or -o json) and the exit code. The one
// implementation, wherever the command runs: the CLI acting itself
// (agent/cli/pin_command.cpp) or the running daemon answering the CLI over
// its control socket (agent/daemon/control_actions.cpp).
#pragma once

#include <string>
#include <vector>

#include "agent/pinning/pinner.h"
#include "control.pb.h"

namespace kvhost {

// Exit codes besides 0. A corrupt state file: the command did its work on
// allocations rebuilt from libvirt, but a decision the agent had saved may
// have been lost, which an operator should hear about.
inline constexpr int kCommandFailedExitCode = 1;
inline constexpr int kReconcileProblemsExitCode = 3;
inline constexpr int kStateRebuiltExitCode = 5;

enum class PinnerSource {
  // Built from the state file for this one command (the CLI acting itself):
  // reconciled first, as the command needs.
  kJustLoaded,
  // The daemon's: reconciled when it started and kept current by libvirt's events.
  kCurrent,
};

struct CommandOutcome {
  std::string output;                 // what the command prints on stdout
  std::vector<std::string> warnings;  // what it logs as warnings
  std::string error;                  // what it logs as an error; empty on success
  int exit_code = 0;
};

// Never throws: a refusal or a failure is an outcome (exit 1, `error` says why).
CommandOutcome RunPinningCommand(const v1::ControlRequest& request, Pinner& pinner,
                                 PinnerSource source);

// The outcome as the control socket carries it, and back.
v1::ControlResponse ResponseOf(const CommandOutcome& outcome);
CommandOutcome OutcomeOf(const v1::ControlResponse& response);

}  // namespace kvhost
