#include "agent/pinning/pin_commands.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "agent/pinning/pin_outcome_text.h"
#include "agent/report/host_report.h"

namespace kvhost {
namespace {

void NoteCorruptState(const ReconcileReport& r, const Pinner& pinner, CommandOutcome& out) {
  if (r.state_corrupt.empty()) return;
  out.warnings.push_back(fmt::format(
      "state file {} was corrupt ({}){}; allocations were rebuilt from libvirt (exit {})",
      pinner.store().file().string(), r.state_corrupt,
      r.state_moved_to.empty() ? "" : ", moved to " + r.state_moved_to, kStateRebuiltExitCode));
  out.exit_code = kStateRebuiltExitCode;
}

// A pinner just loaded from the state file knows nothing of libvirt yet.
void ReconcileIfJustLoaded(Pinner& pinner, PinnerSource source, const std::string& leave_unplaced,
                           CommandOutcome& out) {
  if (source != PinnerSource::kJustLoaded) return;
  const ReconcileReport r = pinner.Reconcile(leave_unplaced);
  spdlog::info("{}", ReconcileSummary(r));
  for (const auto& p : r.problems) out.warnings.push_back("reconcile: " + p);
  NoteCorruptState(r, pinner, out);
}

// A typo in --type is refused before anything, even for a domain whose
// metadata names its type: it must not pass for a pin that used it.
void RefuseUnknownType(const Catalog& catalog, const std::optional<std::string>& type) {
  if (type && !catalog.Find(*type))
    throw std::invalid_argument("--type " + *type +
                                ": the catalog has no such instance type; nothing changed");
}

// `pin X --type T` on a domain that already holds an allocation of another type
// is refused: re-placing a running guest is an unpin and a pin, and the
// operator should choose that knowingly.
void RefuseTypeChange(const Pinner& pinner, const std::string& domain, const std::string& uuid,
                      const std::optional<std::string>& type) {
  if (!type) return;
  const auto it = pinner.vms().find(uuid);
  if (it == pinner.vms().end() || it->second.placement.instance_type == *type) return;
  throw std::runtime_error("'" + domain + "' is already pinned as " +
                           it->second.placement.instance_type + " (" + it->second.type_source +
                           "), not " + *type + ": run `kvhost-agent unpin " + domain +
                           "` first, then pin it with --type " + *type);
}

void Pin(const v1::PinRequest& request, bool json, Pinner& pinner, PinnerSource source,
         CommandOutcome& out) {
  const std::string& domain = request.domain();
  std::optional<std::string> type;
  if (!request.type().empty()) type = request.type();
  RefuseUnknownType(pinner.catalog(), type);
  const std::string uuid = pinner.FindDomainUuid(domain);
  // Left unplaced when unknown to the state: it gets its --type next.
  ReconcileIfJustLoaded(pinner, source, domain, out);
  RefuseTypeChange(pinner, domain, uuid, type);
  out.output = DescribePin(pinner.PinOnAnyConnection(domain, type), json);
}

void Unpin(const v1::UnpinRequest& request, bool json, Pinner& pinner, PinnerSource source,
           CommandOutcome& out) {
  pinner.FindDomainUuid(request.domain());
  ReconcileIfJustLoaded(pinner, source, "", out);
  v1::UnpinResult result;
  result.set_domain(request.domain());
  result.set_freed(pinner.UnpinOnAnyConnection(request.domain()));
  out.output = DescribeUnpin(result, json);
}

void Reconcile(bool json, Pinner& pinner, CommandOutcome& out) {
  const ReconcileReport r = pinner.Reconcile();
  NoteCorruptState(r, pinner, out);
  const v1::ReconcileResult result = ReconcileResultOf(r);
  out.output = json ? ToJson(result) : DescribeReconcile(result);
  if (!r.problems.empty()) out.exit_code = kReconcileProblemsExitCode;
}

}  // namespace

CommandOutcome RunPinningCommand(const v1::ControlRequest& request, Pinner& pinner,
                                 PinnerSource source) {
  CommandOutcome out;
  try {
    switch (request.action_case()) {
      case v1::ControlRequest::kPin:
        Pin(request.pin(), request.json(), pinner, source, out);
        break;
      case v1::ControlRequest::kUnpin:
        Unpin(request.unpin(), request.json(), pinner, source, out);
        break;
      case v1::ControlRequest::kReconcile:
        Reconcile(request.json(), pinner, out);
        break;
      case v1::ControlRequest::ACTION_NOT_SET:
        throw std::invalid_argument("the request names no action");
    }
  } catch (const std::exception& e) {
    out.output.clear();
    out.error = e.what();
    out.exit_code = kCommandFailedExitCode;
  }
  return out;
}

v1::ControlResponse ResponseOf(const CommandOutcome& outcome) {
  v1::ControlResponse response;
  response.set_output(outcome.output);
  for (const auto& w : outcome.warnings) response.add_warnings(w);
  response.set_error(outcome.error);
  response.set_exit_code(outcome.exit_code);
  return response;
}

CommandOutcome OutcomeOf(const v1::ControlResponse& response) {
  return {.output = response.output(),
          .warnings = {response.warnings().begin(), response.warnings().end()},
          .error = response.error(),
          .exit_code = response.exit_code()};
}

}  // namespace kvhost
