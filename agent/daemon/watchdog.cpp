#include "agent/daemon/watchdog.h"

#include <systemd/sd-daemon.h>

namespace kvhost {

void SystemdWatchdog::Start() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  // Half the period leaves room for one late tick.
  period_ = std::chrono::microseconds(usec / 2);
  Ping();
}

void SystemdWatchdog::Ping() {
  sd_notify(0, "WATCHDOG=1");
  timer_.expires_after(period_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Ping();
  });
}

}  // namespace kvhost
