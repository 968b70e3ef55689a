// Lifecycle events through libvirt's default event loop on its own thread,
// with test:///default (which emits events to callbacks on its connections).
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/libvirt/event_loop.h"
#include "agent/libvirt/lifecycle_watcher.h"
#include "libvirt_test_support.h"

namespace kvhost {
namespace {

using testing::DefineDomain;
using testing::TestDomainXml;

// Collects events for one domain name and lets the test wait for a count.
class EventRecorder {
 public:
  explicit EventRecorder(std::string domain) : domain_(std::move(domain)) {}

  void Record(const DomainLifecycleEvent& event) {
    if (event.domain_name != domain_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(event);
    arrived_.notify_all();
  }

  std::vector<DomainLifecycleEvent> WaitFor(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    arrived_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= count; });
    return events_;
  }

  size_t Count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_.size();
  }

 private:
  std::string domain_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<DomainLifecycleEvent> events_;
};

TEST(LifecycleEvents, DefineStartDestroyUndefineArriveInOrder) {
  LibvirtEventLoop loop;
  LibvirtConnection connection = LibvirtConnection::Open("test:///default");
  EventRecorder recorder("events-lifecycle");
  DomainLifecycleWatcher watcher(connection,
                                 [&](const DomainLifecycleEvent& e) { recorder.Record(e); });

  DomainHandle domain =
      DefineDomain(connection, TestDomainXml("events-lifecycle", 1, "cx1.medium"));
  char uuid[VIR_UUID_STRING_BUFLEN] = {};
  ASSERT_EQ(virDomainGetUUIDString(domain.get(), uuid), 0);
  ASSERT_EQ(virDomainCreate(domain.get()), 0);
  ASSERT_EQ(virDomainDestroy(domain.get()), 0);
  ASSERT_EQ(virDomainUndefine(domain.get()), 0);

  std::vector<DomainLifecycleEvent> events = recorder.WaitFor(4);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(LifecycleEventName(events[0].event), "defined");
  EXPECT_EQ(LifecycleEventName(events[1].event), "started");
  EXPECT_EQ(events[1].detail, VIR_DOMAIN_EVENT_STARTED_BOOTED);
  EXPECT_EQ(LifecycleEventName(events[2].event), "stopped");
  EXPECT_EQ(events[2].detail, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
  EXPECT_EQ(LifecycleEventName(events[3].event), "undefined");
  for (const DomainLifecycleEvent& e : events) EXPECT_EQ(e.domain_uuid, uuid);
}

TEST(LifecycleEvents, NothingIsDeliveredAfterTheWatcherIsGone) {
  LibvirtEventLoop loop;
  LibvirtConnection connection = LibvirtConnection::Open("test:///default");
  EventRecorder recorder("events-after-watcher");
  {
    DomainLifecycleWatcher watcher(connection,
                                   [&](const DomainLifecycleEvent& e) { recorder.Record(e); });
    DomainHandle domain = DefineDomain(connection, TestDomainXml("events-after-watcher", 1));
    ASSERT_EQ(recorder.WaitFor(1).size(), 1u);
  }
  DomainHandle again(virDomainLookupByName(connection.raw(), "events-after-watcher"));
  ASSERT_TRUE(again);
  ASSERT_EQ(virDomainUndefine(again.get()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(recorder.Count(), 1u);
}

TEST(LifecycleEvents, AThrowingSinkIsLoggedAndTheLoopKeepsGoing) {
  LibvirtEventLoop loop;
  LibvirtConnection connection = LibvirtConnection::Open("test:///default");
  EventRecorder recorder("events-throwing-sink");
  DomainLifecycleWatcher watcher(connection, [&](const DomainLifecycleEvent& e) {
    recorder.Record(e);
    throw std::runtime_error("sink failure");
  });
  DomainHandle domain = DefineDomain(connection, TestDomainXml("events-throwing-sink", 1));
  ASSERT_EQ(virDomainUndefine(domain.get()), 0);
  EXPECT_EQ(recorder.WaitFor(2).size(), 2u);
}

TEST(LibvirtEventLoop, StopsPromptlyAndCanRunAgain) {
  for (int round = 0; round < 3; ++round) {
    auto started = std::chrono::steady_clock::now();
    LibvirtEventLoop loop;
    loop.Stop();
    loop.Stop();  // idempotent
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  }
}

TEST(LibvirtEventLoop, OnlyOneRunsAtATime) {
  LibvirtEventLoop loop;
  EXPECT_THROW(LibvirtEventLoop second, std::logic_error);
}

}  // namespace
}  // namespace kvhost
