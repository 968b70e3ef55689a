// A SIGHUP's settings, applied all or nothing: every piece they ask for is
// built beside the running ones, which keep serving meanwhile, and the daemon
// switches only once all of it stands. A piece whose settings did not change
// is kept as it runs (the API listener is shared, never bound again), so a
// reload that fails changes nothing and the next SIGHUP tries the file again.
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>

#include "agent/config/agent_config.h"
#include "agent/control/control_server.h"
#include "agent/daemon/publisher.h"

namespace kvhost {

// What the daemon serves that its settings name. Shared: the set a reload
// builds holds the pieces it keeps while the running set still holds them.
struct DaemonOutputs {
  std::shared_ptr<Publisher> publisher;
  std::shared_ptr<control::Server> control;  // null: no control socket
};

// Makes the control socket at a path (not empty), the daemon's handler bound
// in; throws naming the path when it cannot.
using ControlSocketFactory =
    std::function<std::shared_ptr<control::Server>(const std::filesystem::path&)>;

// The outputs `next` asks for, `running` having been built for `current`: a
// new Publisher when a publish setting changed, a new control socket when its
// path did (`make_control` empty: the daemon serves none, as in kubelet
// mode). Throws naming the setting that cannot be applied; whatever was built
// for it is gone then and `running` is as it was.
DaemonOutputs ReloadOutputs(boost::asio::io_context& io, const DaemonSettings& current,
                            const DaemonSettings& next, const DaemonOutputs& running,
                            const ControlSocketFactory& make_control);

}  // namespace kvhost
