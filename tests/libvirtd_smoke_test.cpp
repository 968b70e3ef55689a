// The libvirt edge against a real libvirtd and QEMU (qemu:///system, brought up
// by tests/harness/libvirtd.sh as the `libvirtd` ctest fixture; KVM, or TCG
// where /dev/kvm does not work: tests/it_accelerator.h): pinning
// applied through the library must show in the kernel's view of the QEMU
// threads, and lifecycle events must arrive. Domains are tiny and diskless
// (SeaBIOS finds nothing to boot and idles), named kvhost-it-* so the harness
// can clean up after a crashed run. Written for a host with at least 2 CPUs.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "agent/libvirt/connection.h"
#include "agent/libvirt/event_loop.h"
#include "agent/libvirt/libvirt_error.h"
#include "agent/libvirt/lifecycle_watcher.h"
#include "agent/libvirt/placement_applier.h"
#include "it_accelerator.h"
#include "it_harness.h"
#include "qemu_proc_support.h"

namespace kvhost {
namespace {

using testing::ChooseItAccelerator;
using testing::DescribeThreads;
using testing::FindThread;
using testing::IsVcpuThread;
using testing::QemuThread;
using testing::ReadQemuPid;
using testing::ReadThreads;

constexpr char kUri[] = "qemu:///system";

// Unique per process, so test runs of several build trees can share one libvirtd.
std::string DomainName(const std::string& suffix) {
  return "kvhost-it-smoke-" + std::to_string(getpid()) + "-" + suffix;
}

std::string DomainXml(const std::string& name, unsigned vcpus, unsigned memory_mib,
                      const std::string& instance_type) {
  return "<domain type='" + ChooseItAccelerator().domain_type + "'><name>" + name + "</name>" +
         "<metadata><kvhost:instance xmlns:kvhost='https://kvhost.cozystack.io/xmlns/v1' type='" +
         instance_type + "'/></metadata>" + "<memory unit='MiB'>" + std::to_string(memory_mib) +
         "</memory><vcpu>" + std::to_string(vcpus) + "</vcpu>" +
         "<os><type arch='x86_64'>hvm</type></os>" +
         // No disk, NIC or display: nothing that needs files or host setup.
         "<devices><memballoon model='none'/></devices></domain>";
}

// destroy + undefine, ignoring "not running" and "already gone": cleanup must not throw.
void DestroyAndUndefine(virDomainPtr domain) {
  if (virDomainIsActive(domain) == 1) virDomainDestroy(domain);
  virDomainUndefine(domain);
  TakeLastLibvirtError();
}

// A persistent test domain, destroyed and undefined when the guard goes,
// whatever the test did or how it failed.
class TestDomain {
 public:
  TestDomain(const LibvirtConnection& connection, const std::string& name, unsigned vcpus,
             unsigned memory_mib, const std::string& instance_type) {
    // A leftover of a crashed run whose PID this process now has.
    if (DomainHandle old{virDomainLookupByName(connection.raw(), name.c_str())}) {
      DestroyAndUndefine(old.get());
    }
    TakeLastLibvirtError();
    std::string xml = DomainXml(name, vcpus, memory_mib, instance_type);
    DomainHandle handle(virDomainDefineXML(connection.raw(), xml.c_str()));
    if (!handle) ThrowLastLibvirtError("define domain '" + name + "' on " + connection.uri());
    domain_.emplace(std::move(handle));
  }
  ~TestDomain() { DestroyAndUndefine(domain_->raw()); }
  TestDomain(const TestDomain&) = delete;
  TestDomain& operator=(const TestDomain&) = delete;

  void Start() const {
    if (virDomainCreate(domain_->raw()) < 0) ThrowLastLibvirtError("start " + Describe());
  }
  const LibvirtDomain& domain() const { return *domain_; }
  const std::string& name() const { return domain_->name(); }
  std::string Describe() const { return domain_->Describe(); }

  // The running QEMU's threads as the kernel sees them.
  std::vector<QemuThread> Threads() const {
    std::optional<pid_t> pid = ReadQemuPid(name());
    if (!pid) throw std::runtime_error("no QEMU pid file for " + Describe());
    return ReadThreads(*pid);
  }
  pid_t QemuPid() const { return ReadQemuPid(name()).value_or(0); }

 private:
  std::optional<LibvirtDomain> domain_;  // always set once constructed
};

Placement Dedicated(const TestDomain& vm, std::vector<unsigned> vcpu_cpus,
                    std::optional<unsigned> emulator_cpu) {
  Placement placement;
  placement.vm = vm.name();
  placement.instance_type = "cx1.medium";
  placement.dedicated = true;
  placement.vcpu_cpus = std::move(vcpu_cpus);
  placement.emulator_cpu = emulator_cpu;
  return placement;
}

// The CPUs vCPU thread "CPU <n>/KVM" (or /TCG) may run on, "" when there is no such thread.
std::string VcpuCpus(const std::vector<QemuThread>& threads, unsigned vcpu) {
  std::optional<QemuThread> thread =
      FindThread(threads, testing::VcpuThreadName(ChooseItAccelerator(), vcpu));
  return thread ? thread->cpus_allowed_list : "";
}

// Emulator threads are QEMU's own threads that run no vCPU: the main thread,
// RCU, the monitor I/O thread. The kernel's "kvm-*" workers that KVM attaches to
// the process are not QEMU's and libvirt does not move them.
void ExpectEmulatorThreadsOn(const TestDomain& vm, const std::string& cpus) {
  std::vector<QemuThread> threads = vm.Threads();
  pid_t pid = vm.QemuPid();
  bool saw_main = false;
  for (const QemuThread& thread : threads) {
    if (IsVcpuThread(thread) || thread.comm.rfind("kvm-", 0) == 0) continue;
    saw_main = saw_main || thread.tid == pid;
    EXPECT_EQ(thread.cpus_allowed_list, cpus)
        << vm.Describe() << " emulator thread " << thread.tid << " '" << thread.comm << "'\n"
        << DescribeThreads(threads);
  }
  EXPECT_TRUE(saw_main) << vm.Describe() << " has no main thread " << pid << "\n"
                        << DescribeThreads(threads);
}

// Collects lifecycle events from the event loop thread; the test waits on it.
class EventLog {
 public:
  void Record(const DomainLifecycleEvent& event) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(event);
    arrived_.notify_all();
  }

  // The first event of that domain and type within the timeout.
  std::optional<DomainLifecycleEvent> WaitFor(const std::string& domain, int event) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::optional<DomainLifecycleEvent> found;
    arrived_.wait_for(lock, std::chrono::seconds(15), [&] {
      for (const DomainLifecycleEvent& e : events_) {
        if (e.domain_name == domain && e.event == event) found = e;
      }
      return found.has_value();
    });
    return found;
  }

  bool Saw(const std::string& domain, int event) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const DomainLifecycleEvent& e : events_) {
      if (e.domain_name == domain && e.event == event) return true;
    }
    return false;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<DomainLifecycleEvent> events_;
};

class RealLibvirtd : public ::testing::Test {
 protected:
  void SetUp() override {
    // The harness skips (exit 77) in this case, and ctest still runs the
    // tests that need its fixture: skip here too rather than fail.
    if (geteuid() != 0) GTEST_SKIP() << "needs root for qemu:///system";
    if (const auto why = testing::HarnessSkipReason()) GTEST_SKIP() << *why;
    // The event loop must be registered before the connection whose events we want.
    loop_.emplace();
    connection_.emplace(LibvirtConnection::Open(kUri));
    if (connection_->HostCpuCount() < 2) GTEST_SKIP() << "needs a host with 2 or more CPUs";
  }

  void TearDown() override {
    domains_.clear();  // destroy + undefine, also after a failed assertion
  }

  TestDomain& Define(const std::string& suffix, unsigned vcpus, unsigned memory_mib,
                     const std::string& instance_type) {
    domains_.push_back(std::make_unique<TestDomain>(*connection_, DomainName(suffix), vcpus,
                                                    memory_mib, instance_type));
    return *domains_.back();
  }

  // Member order is destruction order reversed: domains go first, the loop last.
  std::optional<LibvirtEventLoop> loop_;
  std::optional<LibvirtConnection> connection_;
  std::vector<std::unique_ptr<TestDomain>> domains_;
};

TEST_F(RealLibvirtd, SeesRunningDomainsWithTheirMetadataAndVcpuThreads) {
  TestDomain& a = Define("meta-a", 1, 64, "cx1.medium");
  TestDomain& b = Define("meta-b", 2, 128, "u1.small");
  a.Start();
  b.Start();
  EXPECT_EQ(connection_->driver(), HypervisorDriver::kOther);

  DomainSummary summary = connection_->LookupDomain(a.name()).Summarize();
  EXPECT_EQ(summary.state, DomainState::kRunning);
  EXPECT_TRUE(summary.active);
  EXPECT_TRUE(summary.persistent);
  EXPECT_EQ(summary.vcpus, 1u);
  EXPECT_EQ(summary.memory_kib, 64u * 1024);
  EXPECT_EQ(summary.instance_type, std::optional<std::string>("cx1.medium"));
  EXPECT_EQ(connection_->LookupDomain(b.domain().uuid()).Summarize().instance_type,
            std::optional<std::string>("u1.small"));

  // One thread per vCPU, named after the accelerator the domain asked for:
  // under TCG too (QEMU's multi-threaded TCG), which pinning relies on.
  const testing::ItAccelerator accelerator = ChooseItAccelerator();
  std::cout << "domains run under " << accelerator.domain_type << " (" << accelerator.why << ")\n";
  std::vector<QemuThread> threads = b.Threads();
  EXPECT_TRUE(FindThread(threads, testing::VcpuThreadName(accelerator, 0)))
      << DescribeThreads(threads);
  EXPECT_TRUE(FindThread(threads, testing::VcpuThreadName(accelerator, 1)))
      << DescribeThreads(threads);
}

TEST_F(RealLibvirtd, PinsVcpusAndEmulatorOfRunningDomainsAsTheKernelSeesIt) {
  TestDomain& a = Define("pin-a", 1, 64, "cx1.medium");
  TestDomain& b = Define("pin-b", 2, 128, "cx1.large");
  a.Start();
  b.Start();

  // a: vCPU 0 -> CPU 1, emulator -> CPU 0, memory strictly on node 0.
  Placement pa = Dedicated(a, {1}, 0);
  pa.numa_nodes = {0};
  ApplyReport ra = ApplyPlacement(*connection_, a.domain(), pa);
  EXPECT_EQ(ra.pin_flags, unsigned{VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG});
  // QEMU refuses a live nodeset change in strict mode; the config then carries it.
  EXPECT_TRUE(ra.numa == NumaOutcome::kApplied || ra.numa == NumaOutcome::kAppliesAtNextStart);
  std::cout << "numatune on a running domain: " << NumaOutcomeName(ra.numa) << " "
            << ra.numa_deferred_reason << "\n";
  // b: vCPU 0 -> CPU 1, vCPU 1 -> CPU 0, emulator -> CPU 1.
  ApplyPlacement(*connection_, b.domain(), Dedicated(b, {1, 0}, 1));

  for (unsigned flags : {VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_AFFECT_CONFIG}) {
    DomainPinning pinning = ReadPinning(*connection_, a.domain(), flags);
    ASSERT_EQ(pinning.vcpus.size(), 1u);
    EXPECT_EQ(pinning.vcpus[0].ToList(), "1");
    ASSERT_TRUE(pinning.emulator);
    EXPECT_EQ(pinning.emulator->ToList(), "0");
  }
  DomainPinning config = ReadPinning(*connection_, a.domain(), VIR_DOMAIN_AFFECT_CONFIG);
  ASSERT_TRUE(config.numa);
  EXPECT_EQ(config.numa->mode, "strict");
  EXPECT_EQ(config.numa->nodeset.ToList(), "0");

  // What the kernel enforces, independently of what libvirt reports.
  std::vector<QemuThread> ta = a.Threads();
  EXPECT_EQ(VcpuCpus(ta, 0), "1") << DescribeThreads(ta);
  ExpectEmulatorThreadsOn(a, "0");
  std::vector<QemuThread> tb = b.Threads();
  EXPECT_EQ(VcpuCpus(tb, 0), "1") << DescribeThreads(tb);
  EXPECT_EQ(VcpuCpus(tb, 1), "0") << DescribeThreads(tb);
  ExpectEmulatorThreadsOn(b, "1");

  // Unpinning gives b every online CPU back and leaves a alone.
  CpuSet online = ParseCpuList("0-" + std::to_string(connection_->HostCpuCount() - 1));
  UnpinDomain(*connection_, b.domain(), online);
  tb = b.Threads();
  EXPECT_EQ(VcpuCpus(tb, 0), online.ToList()) << DescribeThreads(tb);
  EXPECT_EQ(VcpuCpus(tb, 1), online.ToList()) << DescribeThreads(tb);
  ExpectEmulatorThreadsOn(b, online.ToList());
  EXPECT_EQ(VcpuCpus(a.Threads(), 0), "1");
}

TEST_F(RealLibvirtd, PinningAStoppedDomainTakesEffectWhenItStarts) {
  TestDomain& a = Define("cold", 2, 64, "cx1.large");
  ApplyReport report = ApplyPlacement(*connection_, a.domain(), Dedicated(a, {0, 1}, 1));
  EXPECT_EQ(report.pin_flags, unsigned{VIR_DOMAIN_AFFECT_CONFIG});
  a.Start();
  std::vector<QemuThread> threads = a.Threads();
  EXPECT_EQ(VcpuCpus(threads, 0), "0") << DescribeThreads(threads);
  EXPECT_EQ(VcpuCpus(threads, 1), "1") << DescribeThreads(threads);
  ExpectEmulatorThreadsOn(a, "1");
}

TEST_F(RealLibvirtd, DestroyingADomainDeliversAStoppedEventAndSparesTheOther) {
  TestDomain& a = Define("events-a", 1, 64, "cx1.medium");
  TestDomain& b = Define("events-b", 1, 64, "cx1.medium");
  EventLog log;
  DomainLifecycleWatcher watcher(*connection_,
                                 [&](const DomainLifecycleEvent& e) { log.Record(e); });
  a.Start();
  b.Start();
  ASSERT_TRUE(log.WaitFor(a.name(), VIR_DOMAIN_EVENT_STARTED)) << "no started event";
  pid_t a_pid = a.QemuPid();
  ASSERT_GT(a_pid, 0);

  ASSERT_EQ(virDomainDestroy(a.domain().raw()), 0) << TakeLastLibvirtError().message;
  std::optional<DomainLifecycleEvent> stopped = log.WaitFor(a.name(), VIR_DOMAIN_EVENT_STOPPED);
  ASSERT_TRUE(stopped) << "no stopped event for " << a.name() << " within 15 s";
  EXPECT_EQ(LifecycleEventName(stopped->event), "stopped");
  EXPECT_EQ(stopped->detail, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
  EXPECT_EQ(stopped->domain_uuid, a.domain().uuid());

  EXPECT_EQ(a.domain().State(), DomainState::kShutoff);
  EXPECT_FALSE(ReadQemuPid(a.name()));
  EXPECT_FALSE(testing::ProcessRuns(a_pid)) << "QEMU of a destroyed domain still runs";
  EXPECT_EQ(b.domain().State(), DomainState::kRunning);
  EXPECT_FALSE(log.Saw(b.name(), VIR_DOMAIN_EVENT_STOPPED));
}

}  // namespace
}  // namespace kvhost
