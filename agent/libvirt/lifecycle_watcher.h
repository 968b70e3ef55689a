// Domain lifecycle events (defined, started, stopped, ...) from one connection,
// delivered to a std::function on the libvirt event loop thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/libvirt/connection.h"
#include "agent/libvirt/domain_types.h"
#include "agent/libvirt/handles.h"

namespace kvhost {

struct DomainLifecycleEvent {
  std::string domain_name;
  std::string domain_uuid;
  int event = 0;   // virDomainEventType: VIR_DOMAIN_EVENT_STARTED, ...
  int detail = 0;  // the matching vir*DetailType, e.g. VIR_DOMAIN_EVENT_STOPPED_DESTROYED
  LifecycleChange change = LifecycleChange::kOther;  // `event` for code outside the edge
};

// "defined", "started", "stopped", ...
std::string LifecycleEventName(int event);
// kStarted for STARTED; kEnded for STOPPED, CRASHED and UNDEFINED; else kOther.
LifecycleChange LifecycleChangeOf(int event);

using LifecycleSink = std::function<void(const DomainLifecycleEvent&)>;

// Registers on construction, deregisters on destruction. The sink runs on the
// event loop thread (see LibvirtEventLoop), one event at a time; an exception
// from it is logged, never thrown into libvirt. Once the destructor returns
// the sink is not running and never runs again, so it may capture references
// that die with the watcher's owner. Do not destroy the watcher from inside
// its own sink. libvirt refuses a second watcher on the same connection (the
// same callback is already tracked): fan out inside one sink instead.
class DomainLifecycleWatcher {
 public:
  DomainLifecycleWatcher(const LibvirtConnection& connection, LifecycleSink sink);
  ~DomainLifecycleWatcher();
  DomainLifecycleWatcher(const DomainLifecycleWatcher&) = delete;
  DomainLifecycleWatcher& operator=(const DomainLifecycleWatcher&) = delete;

  struct Delivery;  // shared with libvirt's callback registration

 private:
  std::shared_ptr<Delivery> delivery_;
  ConnectionHandle connection_;  // our own reference: deregistering needs the connection
  int callback_id_ = -1;
  std::string uri_;
};

}  // namespace kvhost
