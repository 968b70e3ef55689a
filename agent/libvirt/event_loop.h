// libvirt's default event loop on one dedicated thread.
//
// libvirt delivers domain events (and keeps remote connections alive) only
// while some thread runs virEventRunDefaultImpl. The implementation must be
// registered before the connections whose events we want are opened, and it
// can never be unregistered, so registration happens once per process; the
// thread that runs it can be started and stopped. Only one LibvirtEventLoop
// may run at a time: libvirt allows one thread in the default loop.
#pragma once

#include <atomic>
#include <thread>

namespace kvhost {

class LibvirtEventLoop {
 public:
  // Registers the default implementation (first time only) and starts the
  // thread. Throws LibvirtError if registration fails, std::logic_error if
  // another loop is already running.
  LibvirtEventLoop();
  ~LibvirtEventLoop();
  LibvirtEventLoop(const LibvirtEventLoop&) = delete;
  LibvirtEventLoop& operator=(const LibvirtEventLoop&) = delete;

  // Ends the thread after its current iteration; callbacks already running
  // finish first. Idempotent. After it returns no libvirt callback runs on
  // this loop's thread again. Never call it from a libvirt callback: the
  // loop thread cannot join itself.
  void Stop();

  // For callers that open connections before creating the loop thread.
  static void RegisterDefaultImplementation();

 private:
  void Run();

  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
};

}  // namespace kvhost
