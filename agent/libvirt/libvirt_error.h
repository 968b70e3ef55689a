// Errors at the libvirt edge. Every failed libvirt call becomes a LibvirtError
// that names what we were doing (domain, URI) and carries libvirt's own words,
// so a log line is enough to tell a vanished domain from a refused flag.
#pragma once

#include <stdexcept>
#include <string>

namespace kvhost {

class LibvirtError : public std::runtime_error {
 public:
  // context: "pin vCPU 2 of domain 'vm-a'"; libvirt_message: virGetLastError's text.
  LibvirtError(const std::string& context, const std::string& libvirt_message, int libvirt_code);

  const std::string& context() const { return context_; }
  const std::string& libvirt_message() const { return libvirt_message_; }
  // virErrorNumber (VIR_ERR_NO_DOMAIN, ...); 0 when libvirt left no error.
  int libvirt_code() const { return libvirt_code_; }
  bool DomainVanished() const;

 private:
  std::string context_;
  std::string libvirt_message_;
  int libvirt_code_;
};

// Throws a LibvirtError built from this thread's last libvirt error.
[[noreturn]] void ThrowLastLibvirtError(const std::string& context);

// The thread's last libvirt error as {message, code}, then cleared, for callers
// that recover from a refusal instead of throwing (see the numatune fallback).
struct LastLibvirtError {
  std::string message;
  int code = 0;
};
LastLibvirtError TakeLastLibvirtError();

// virInitialize once per process and stop libvirt from printing every error
// to stderr itself: our exceptions carry the message, and a daemon that logs
// through spdlog must not get unstructured duplicates. Safe to call often.
void EnsureLibvirtInitialized();

}  // namespace kvhost
