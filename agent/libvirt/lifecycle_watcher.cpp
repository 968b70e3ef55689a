#include "agent/libvirt/lifecycle_watcher.h"

#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "agent/libvirt/libvirt_error.h"

namespace kvhost {

// The sink and a switch the destructor turns off. libvirt may still be inside
// the callback when we deregister (it runs on the loop thread), so the
// callback holds the mutex while calling the sink and the destructor takes it
// to switch delivery off.
struct DomainLifecycleWatcher::Delivery {
  std::mutex mutex;
  bool active = true;
  LifecycleSink sink;
};

namespace {

// libvirt owns one of these per registration and frees it through
// ReleaseDelivery when the registration is finally dropped, which can be after
// the watcher is gone; the shared_ptr keeps the Delivery alive until then.
using DeliveryReference = std::shared_ptr<DomainLifecycleWatcher::Delivery>;

void ReleaseDelivery(void* opaque) {
  std::unique_ptr<DeliveryReference> owned(static_cast<DeliveryReference*>(opaque));
}

int OnLifecycle(virConnectPtr /*connection*/, virDomainPtr domain, int event, int detail,
                void* opaque) {
  auto& delivery = **static_cast<DeliveryReference*>(opaque);
  DomainLifecycleEvent lifecycle;
  lifecycle.event = event;
  lifecycle.detail = detail;
  lifecycle.change = LifecycleChangeOf(event);
  if (const char* name = virDomainGetName(domain); name != nullptr) lifecycle.domain_name = name;
  char uuid[VIR_UUID_STRING_BUFLEN] = {};
  if (virDomainGetUUIDString(domain, uuid) == 0) lifecycle.domain_uuid = uuid;

  std::lock_guard<std::mutex> lock(delivery.mutex);
  if (!delivery.active) return 0;
  try {
    delivery.sink(lifecycle);
  } catch (const std::exception& e) {
    // An exception must not unwind through libvirt's C frames.
    spdlog::error("lifecycle event {} of domain '{}' not handled: {}", LifecycleEventName(event),
                  lifecycle.domain_name, e.what());
  } catch (...) {
    spdlog::error("lifecycle event {} of domain '{}' not handled: unknown exception",
                  LifecycleEventName(event), lifecycle.domain_name);
  }
  return 0;
}

}  // namespace

LifecycleChange LifecycleChangeOf(int event) {
  switch (event) {
    case VIR_DOMAIN_EVENT_STARTED:
      return LifecycleChange::kStarted;
    case VIR_DOMAIN_EVENT_STOPPED:
    case VIR_DOMAIN_EVENT_UNDEFINED:
    case VIR_DOMAIN_EVENT_CRASHED:
      return LifecycleChange::kEnded;
    default:
      return LifecycleChange::kOther;
  }
}

std::string LifecycleEventName(int event) {
  switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
      return "defined";
    case VIR_DOMAIN_EVENT_UNDEFINED:
      return "undefined";
    case VIR_DOMAIN_EVENT_STARTED:
      return "started";
    case VIR_DOMAIN_EVENT_SUSPENDED:
      return "suspended";
    case VIR_DOMAIN_EVENT_RESUMED:
      return "resumed";
    case VIR_DOMAIN_EVENT_STOPPED:
      return "stopped";
    case VIR_DOMAIN_EVENT_SHUTDOWN:
      return "shutdown";
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
      return "pmsuspended";
    case VIR_DOMAIN_EVENT_CRASHED:
      return "crashed";
    default:
      return "event " + std::to_string(event);
  }
}

DomainLifecycleWatcher::DomainLifecycleWatcher(const LibvirtConnection& connection,
                                               LifecycleSink sink)
    : delivery_(std::make_shared<Delivery>()),
      connection_(connection.NewReference()),
      uri_(connection.uri()) {
  delivery_->sink = std::move(sink);
  auto reference = std::make_unique<DeliveryReference>(delivery_);
  callback_id_ = virConnectDomainEventRegisterAny(
      connection_.get(), nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
      VIR_DOMAIN_EVENT_CALLBACK(OnLifecycle), reference.get(), ReleaseDelivery);
  // On failure libvirt has not kept the reference (nor will it call ReleaseDelivery): we still own
  // it.
  if (callback_id_ < 0) ThrowLastLibvirtError("watch domain lifecycle events on '" + uri_ + "'");
  static_cast<void>(reference.release());  // now libvirt's, freed through ReleaseDelivery
}

DomainLifecycleWatcher::~DomainLifecycleWatcher() {
  {
    std::lock_guard<std::mutex> lock(delivery_->mutex);
    delivery_->active = false;
  }
  if (virConnectDomainEventDeregisterAny(connection_.get(), callback_id_) < 0) {
    spdlog::warn("could not stop watching lifecycle events on '{}': {}", uri_,
                 TakeLastLibvirtError().message);
  }
}

}  // namespace kvhost
