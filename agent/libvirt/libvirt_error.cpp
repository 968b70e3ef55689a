#include "agent/libvirt/libvirt_error.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <mutex>

namespace kvhost {

namespace {

std::string Describe(const std::string& context, const std::string& message) {
  return context + ": " + message;
}

// Default libvirt behaviour is to print each error on stderr; we report them ourselves.
void IgnoreLibvirtErrorPrinting(void* /*opaque*/, virErrorPtr /*error*/) {}

}  // namespace

LibvirtError::LibvirtError(const std::string& context, const std::string& libvirt_message,
                           int libvirt_code)
    : std::runtime_error(Describe(context, libvirt_message)),
      context_(context),
      libvirt_message_(libvirt_message),
      libvirt_code_(libvirt_code) {}

bool LibvirtError::DomainVanished() const { return libvirt_code_ == VIR_ERR_NO_DOMAIN; }

LastLibvirtError TakeLastLibvirtError() {
  LastLibvirtError last;
  // virGetLastError is per thread: it is the error of the call that just failed here.
  if (virErrorPtr error = virGetLastError(); error != nullptr) {
    last.code = error->code;
    if (error->message != nullptr) last.message = error->message;
  }
  // Some driver paths fail without setting an error; say so rather than print "".
  if (last.message.empty()) last.message = "libvirt reported a failure without a message";
  virResetLastError();
  return last;
}

void ThrowLastLibvirtError(const std::string& context) {
  LastLibvirtError last = TakeLastLibvirtError();
  throw LibvirtError(context, last.message, last.code);
}

void EnsureLibvirtInitialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    // virInitialize makes libvirt's global state thread safe before a second
    // thread (the event loop) can touch it.
    if (virInitialize() < 0) ThrowLastLibvirtError("initialize libvirt");
    virSetErrorFunc(nullptr, IgnoreLibvirtErrorPrinting);
  });
}

}  // namespace kvhost
