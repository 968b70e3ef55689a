// systemd's watchdog (WatchdogSec): pinged from the event loop, so a loop
// that stops turning stops the pings and systemd restarts the unit.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace kvhost {

class SystemdWatchdog {
 public:
  explicit SystemdWatchdog(boost::asio::io_context& io) : timer_(io) {}
  // Nothing when the unit has no watchdog (or there is no systemd).
  void Start();

 private:
  void Ping();

  boost::asio::steady_timer timer_;
  std::chrono::microseconds period_{0};
};

}  // namespace kvhost
