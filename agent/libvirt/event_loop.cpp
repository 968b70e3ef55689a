#include "agent/libvirt/event_loop.h"

#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

#include "agent/libvirt/libvirt_error.h"

namespace kvhost {

namespace {

std::atomic<bool> loop_running{false};

// A zero-delay timeout makes the blocked poll() in the loop return so the
// thread sees the stop flag; the callback itself has nothing to do.
void WakeLoop(int /*timer*/, void* /*opaque*/) {}

}  // namespace

void LibvirtEventLoop::RegisterDefaultImplementation() {
  EnsureLibvirtInitialized();
  static std::once_flag once;
  std::call_once(once, [] {
    if (virEventRegisterDefaultImpl() < 0)
      ThrowLastLibvirtError("register libvirt's default event loop");
  });
}

LibvirtEventLoop::LibvirtEventLoop() {
  RegisterDefaultImplementation();
  if (loop_running.exchange(true)) {
    throw std::logic_error("a libvirt event loop is already running in this process");
  }
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (...) {
    loop_running.store(false);
    throw;
  }
}

LibvirtEventLoop::~LibvirtEventLoop() { Stop(); }

void LibvirtEventLoop::Run() {
  while (!stop_requested_.load()) {
    if (virEventRunDefaultImpl() < 0) {
      LastLibvirtError error = TakeLastLibvirtError();
      spdlog::error("libvirt event loop iteration failed: {}", error.message);
      // A failing poll() would otherwise spin a CPU; events are late, not lost.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void LibvirtEventLoop::Stop() {
  if (!thread_.joinable()) return;
  stop_requested_.store(true);
  // Adding a timeout from another thread wakes the loop (libvirt writes to
  // its wake-up pipe); the zero delay makes the next poll() return at once.
  int timer = virEventAddTimeout(0, WakeLoop, nullptr, nullptr);
  if (timer < 0) {
    // Without the wake-up the thread still stops at its next event.
    spdlog::warn("could not wake the libvirt event loop: {}", TakeLastLibvirtError().message);
  }
  thread_.join();
  if (timer >= 0) virEventRemoveTimeout(timer);
  loop_running.store(false);
}

}  // namespace kvhost
