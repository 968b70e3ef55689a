#include "agent/daemon/control_actions.h"

#include <stdexcept>

#include "agent/pinning/pin_outcome_text.h"

namespace kvhost {

v1::ControlResponse ActForControlRequest(const v1::ControlRequest& request, Pinner& pinner) {
  v1::ControlResponse response;
  switch (request.action_case()) {
    case v1::ControlRequest::kPin: {
      std::optional<std::string> type;
      if (!request.pin().type().empty()) type = request.pin().type();
      response.set_output(
          DescribePin(pinner.PinOnAnyConnection(request.pin().domain(), type), request.json()));
      break;
    }
    case v1::ControlRequest::kUnpin:
      response.set_output(DescribeUnpin(request.unpin().domain(),
                                        pinner.UnpinOnAnyConnection(request.unpin().domain())));
      break;
    case v1::ControlRequest::kReconcile: {
      const ReconcileReport report = pinner.Reconcile();
      LogReconcile(report);
      response.set_output(DescribeReconcile(report));
      response.set_exit_code(report.problems.empty() ? 0 : 3);
      break;
    }
    case v1::ControlRequest::ACTION_NOT_SET:
      throw std::invalid_argument("the request names no action");
  }
  return response;
}

}  // namespace kvhost
