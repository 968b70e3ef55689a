#include "agent/daemon/reload.h"

#include <system_error>

namespace kvhost {
namespace {

bool SamePublishing(const DaemonSettings& a, const DaemonSettings& b) {
  return a.feature_file == b.feature_file && a.nrt_file == b.nrt_file &&
         a.api_address == b.api_address && a.api_port == b.api_port &&
         a.refresh_interval == b.refresh_interval;
}

// Two spellings of one path are one socket: a new server there would take
// the running one's file, which the running one then removes as it closes.
bool SamePath(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

}  // namespace

DaemonOutputs ReloadOutputs(boost::asio::io_context& io, const DaemonSettings& current,
                            const DaemonSettings& next, const DaemonOutputs& running,
                            const ControlSocketFactory& make_control) {
  DaemonOutputs outputs = running;
  if (!SamePublishing(current, next))
    outputs.publisher = std::make_shared<Publisher>(io, next, running.publisher.get());
  if (!make_control) return outputs;
  const std::filesystem::path path = next.control_socket;
  if (path.empty())
    outputs.control.reset();
  else if (!running.control || !SamePath(path, current.control_socket))
    outputs.control = make_control(path);
  return outputs;
}

}  // namespace kvhost
