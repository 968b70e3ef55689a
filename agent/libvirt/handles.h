// Owning handles for libvirt's C objects: every virConnectPtr, virDomainPtr and
// libvirt-allocated buffer is released by a destructor, on every path,
// exceptions included.
#pragma once

#include <libvirt/libvirt.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace kvhost {

struct ConnectionCloser {
  // virConnectClose drops one reference; the connection ends with the last one.
  void operator()(virConnectPtr connection) const { virConnectClose(connection); }
};
using ConnectionHandle = std::unique_ptr<virConnect, ConnectionCloser>;

struct DomainFreer {
  // Frees our handle only; the domain itself lives on in libvirt.
  void operator()(virDomainPtr domain) const { virDomainFree(domain); }
};
using DomainHandle = std::unique_ptr<virDomain, DomainFreer>;

struct LibvirtMemoryFreer {
  // Strings and arrays libvirt returns are malloc()ed and documented as "caller frees".
  void operator()(void* memory) const { std::free(memory); }
};
using LibvirtString = std::unique_ptr<char, LibvirtMemoryFreer>;
using LibvirtBytes = std::unique_ptr<unsigned char, LibvirtMemoryFreer>;

// Typed parameters we fill for a Set* call (virTypedParamsAdd* grows the array).
class TypedParamsBuilder {
 public:
  TypedParamsBuilder() = default;
  TypedParamsBuilder(const TypedParamsBuilder&) = delete;
  TypedParamsBuilder& operator=(const TypedParamsBuilder&) = delete;
  ~TypedParamsBuilder() { virTypedParamsFree(params_, count_); }

  // Return false on allocation failure (libvirt sets the last error).
  bool AddInt(const char* field, int value) {
    return virTypedParamsAddInt(&params_, &count_, &capacity_, field, value) == 0;
  }
  bool AddString(const char* field, const std::string& value) {
    return virTypedParamsAddString(&params_, &count_, &capacity_, field, value.c_str()) == 0;
  }
  virTypedParameterPtr data() const { return params_; }
  int size() const { return count_; }

 private:
  virTypedParameterPtr params_ = nullptr;
  int count_ = 0;
  int capacity_ = 0;
};

// Caller-allocated parameters a Get* call fills; libvirt may put strings in
// them that virTypedParamsClear releases.
class TypedParamsBuffer {
 public:
  explicit TypedParamsBuffer(int count) : params_(static_cast<size_t>(count)), count_(count) {}
  TypedParamsBuffer(const TypedParamsBuffer&) = delete;
  TypedParamsBuffer& operator=(const TypedParamsBuffer&) = delete;
  ~TypedParamsBuffer() { virTypedParamsClear(params_.data(), count_); }

  virTypedParameterPtr data() { return params_.data(); }
  int* count() { return &count_; }
  int size() const { return count_; }

 private:
  std::vector<virTypedParameter> params_;
  int count_;
};

}  // namespace kvhost
