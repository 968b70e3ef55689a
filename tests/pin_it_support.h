// Shared by the real-libvirtd tests of the pinning service
// (pin_integration*_test.cpp, pin_fault_test.cpp): the test's own domains on
// qemu:///system (KVM, or TCG without /dev/kvm: tests/it_accelerator.h), the
// agent run the way an operator runs it, and the three views of where a domain is pinned that must
// agree: the agent's state file, libvirt, and the kernel (/proc/<qemu>/task/*/status).
//
// Domains are diskless and tiny (SeaBIOS finds nothing to boot and idles),
// named kvhost-it-<pid>-<x> so the harness removes leftovers of a crashed run,
// and carry <kvhost:instance type="it.*"/> from tests/data/it/catalog.yaml.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <sys/file.h>

#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "agent/config/config_loader.h"
#include "agent/libvirt/connection.h"
#include "agent/libvirt/libvirt_error.h"
#include "agent/libvirt/pinning_reader.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_store.h"
#include "agent_process_support.h"
#include "base/cpu_set.h"
#include "base/regular_file.h"
#include "it_accelerator.h"
#include "it_harness.h"
#include "qemu_proc_support.h"

namespace kvhost::it {

constexpr char kUri[] = "qemu:///system";
// The config's `domains` in every test's agent: the tests' domains and no other.
constexpr char kItDomains[] = "kvhost-it-*";
constexpr char kSetpriv[] = "/usr/bin/setpriv";  // util-linux, essential on Debian

inline std::string DomainPrefix() { return "kvhost-it-" + std::to_string(getpid()) + "-"; }

// The domains, running or not, of `connection` that are not the tests' own
// (kvhost-it-*), as "a, b"; empty when there is none.
inline std::string ForeignDomains(const LibvirtConnection& connection) {
  const DomainFilter ours({kItDomains}, "the tests' domains");
  std::string foreign;
  for (const auto& domain : connection.ListDomainSummaries())
    if (!ours.Manages(domain.name)) foreign += (foreign.empty() ? "" : ", ") + domain.name;
  return foreign;
}

// The test's domains, destroyed and undefined with the object, whatever the
// test did. Domains are looked up by name at every use, so they stay
// reachable after a libvirtd restart once Reconnect() has run.
class Hypervisor {
 public:
  Hypervisor() : connection_(std::make_unique<LibvirtConnection>(LibvirtConnection::Open(kUri))) {}
  ~Hypervisor() {
    try {
      if (virConnectIsAlive(connection_->raw()) != 1) Reconnect();
    } catch (...) {
      return;  // libvirtd is gone: the harness's stop removes kvhost-it-* domains
    }
    // In parallel: destroying a QEMU takes ~1.6 s here, most of it waiting.
    std::vector<std::thread> removers;
    for (const auto& name : names_)
      removers.emplace_back([this, name] {
        if (DomainHandle d{virDomainLookupByName(connection_->raw(), name.c_str())}) {
          if (virDomainIsActive(d.get()) == 1) virDomainDestroy(d.get());
          virDomainUndefine(d.get());
        }
        TakeLastLibvirtError();
      });
    for (auto& t : removers) t.join();
  }
  Hypervisor(const Hypervisor&) = delete;
  Hypervisor& operator=(const Hypervisor&) = delete;

  const LibvirtConnection& connection() const { return *connection_; }
  void Reconnect() {
    connection_ = std::make_unique<LibvirtConnection>(LibvirtConnection::Open(kUri));
  }

  // Defines kvhost-it-<pid>-<suffix>: `type` goes into the kvhost metadata,
  // none when empty. Returns the name.
  std::string Define(const std::string& suffix, unsigned vcpus, const std::string& type) {
    const std::string name = DomainPrefix() + suffix;
    const std::string metadata =
        type.empty() ? ""
                     : "<metadata><kvhost:instance "
                       "xmlns:kvhost='https://kvhost.cozystack.io/xmlns/v1' type='" +
                           type + "'/></metadata>";
    // 128 MiB, the it.* size, so a domain without metadata matches it.dedicated and it.shared.
    const std::string xml = "<domain type='" + accelerator_.domain_type + "'><name>" + name +
                            "</name>" + metadata + "<memory unit='MiB'>128</memory><vcpu>" +
                            std::to_string(vcpus) +
                            "</vcpu><os><type arch='x86_64'>hvm</type></os>"
                            "<devices><memballoon model='none'/></devices></domain>";
    names_.push_back(name);
    DomainHandle d(virDomainDefineXML(connection_->raw(), xml.c_str()));
    if (!d) ThrowLastLibvirtError("define " + name);
    return name;
  }
  void Start(const std::string& name) const {
    if (virDomainCreate(Lookup(name).raw()) < 0) ThrowLastLibvirtError("start " + name);
  }
  void Destroy(const std::string& name) const {
    if (virDomainDestroy(Lookup(name).raw()) < 0) ThrowLastLibvirtError("destroy " + name);
  }
  LibvirtDomain Lookup(const std::string& name) const { return connection_->LookupDomain(name); }
  std::string Uuid(const std::string& name) const { return Lookup(name).uuid(); }

  // The kernel's view of the domain's QEMU threads.
  std::vector<testing::QemuThread> Threads(const std::string& name) const {
    std::optional<pid_t> pid = testing::ReadQemuPid(name);
    if (!pid) throw std::runtime_error("no QEMU pid file for " + name);
    return testing::ReadThreads(*pid);
  }
  // Cpus_allowed_list of thread "CPU <vcpu>/KVM" (or /TCG), "" when there is none.
  std::string VcpuCpus(const std::string& name, unsigned vcpu) const {
    auto t = testing::FindThread(Threads(name), testing::VcpuThreadName(accelerator_, vcpu));
    return t ? t->cpus_allowed_list : "";
  }

 private:
  const testing::ItAccelerator accelerator_ = testing::ChooseItAccelerator();
  std::unique_ptr<LibvirtConnection> connection_;
  std::vector<std::string> names_;
};

// What the agent saved, read from a copy: StateStore::Load removes temp files
// (which a running agent may be about to rename) and moves a damaged file
// aside, and a test must only look. The bytes come through one open file:
// std::filesystem::copy_file sends as many bytes as a stat() of the path gave
// before its open(), so a state.pb renamed into place between the two was
// copied torn (the new file's header, the old one's length).
inline v1::AgentState ReadState(const fs::path& state_dir) {
  const auto file = state_dir / StateStore::kFileName;
  const std::optional<std::string> bytes = ReadRegularFile(AT_FDCWD, file.c_str(), 64 << 20);
  if (!bytes) return {};  // no state file yet
  TempDir copy;
  std::ofstream(copy.path() / StateStore::kFileName, std::ios::binary) << *bytes;
  LoadedState loaded = StateStore(copy.path()).Load();
  if (loaded.status != StateLoadStatus::kLoaded)
    throw std::runtime_error("state file in " + state_dir.string() +
                             " unreadable: " + loaded.problem);
  return loaded.state;
}

inline std::vector<v1::Allocation> AllocationsOf(const v1::AgentState& state,
                                                 const std::string& uuid) {
  std::vector<v1::Allocation> out;
  for (const auto& a : state.allocations())
    if (a.domain_uuid() == uuid) out.push_back(a);
  return out;
}
inline std::optional<v1::Allocation> AllocationOf(const v1::AgentState& state,
                                                  const std::string& uuid) {
  auto all = AllocationsOf(state, uuid);
  if (all.size() != 1) return std::nullopt;
  return all.front();
}

inline CpuSet OnlineCpus() {
  std::string text = ReadFile("/sys/devices/system/cpu/online");
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return ParseCpuList(text);
}

// The CPU sets each vCPU of a domain must be allowed on under allocation a.
inline std::vector<CpuSet> ExpectedVcpuCpus(const v1::Allocation& a, unsigned vcpus) {
  std::vector<CpuSet> out;
  for (unsigned v = 0; v < vcpus; ++v)
    out.push_back(a.dedicated() ? (v < static_cast<unsigned>(a.vcpu_cpus_size())
                                       ? CpuSet::Range(a.vcpu_cpus(v), a.vcpu_cpus(v))
                                       : CpuSet())
                                : ParseCpuList(a.shared_cpus()));
  return out;
}

// The state file is libvirt's truth: each of `running` (names of this test's
// running domains) has exactly one allocation, libvirt and the kernel pin it
// as allocated, every allocation belongs to a running domain, and no CPU is
// given to two dedicated domains or to a dedicated domain and the shared pool.
inline void ExpectStateIsLibvirtTruth(const Hypervisor& hv, const fs::path& state_dir,
                                      const std::vector<std::string>& running) {
  const v1::AgentState state = ReadState(state_dir);
  std::map<std::string, std::string> active;  // uuid -> name, every running domain of the host
  for (const auto& s : hv.connection().ListDomainSummaries())
    if (s.active) active[s.uuid] = s.name;
  CpuSet dedicated;
  for (const auto& a : state.allocations()) {
    EXPECT_TRUE(active.count(a.domain_uuid()))
        << "allocation of " << a.domain_uuid() << " (" << a.instance_type()
        << ") whose domain does not run";
    if (!a.dedicated()) continue;
    const CpuSet cpus = PlacementFromAllocation(a).DedicatedCpus();
    EXPECT_FALSE(cpus.Intersects(dedicated))
        << "CPUs " << cpus.ToList() << " of " << active[a.domain_uuid()]
        << " are already given to another dedicated domain";
    dedicated |= cpus;
  }
  for (const auto& a : state.allocations()) {
    if (a.dedicated()) continue;
    EXPECT_FALSE(ParseCpuList(a.shared_cpus()).Intersects(dedicated))
        << active[a.domain_uuid()] << " floats on " << a.shared_cpus() << ", over dedicated CPUs "
        << dedicated.ToList();
  }

  for (const auto& name : running) {
    SCOPED_TRACE(name);
    const LibvirtDomain domain = hv.Lookup(name);
    const auto allocations = AllocationsOf(state, domain.uuid());
    ASSERT_EQ(allocations.size(), 1u) << name << " must have exactly one allocation";
    const v1::Allocation& a = allocations.front();
    const unsigned vcpus = domain.MaxVcpus();
    if (a.dedicated()) {
      EXPECT_EQ(static_cast<unsigned>(a.vcpu_cpus_size()), vcpus);
    } else {
      EXPECT_FALSE(a.shared_cpus().empty());
    }
    const std::vector<CpuSet> want = ExpectedVcpuCpus(a, vcpus);
    const DomainPinning live = ReadPinning(hv.connection(), domain, VIR_DOMAIN_AFFECT_LIVE);
    ASSERT_EQ(live.vcpus.size(), vcpus);
    for (unsigned v = 0; v < vcpus; ++v) {
      EXPECT_EQ(live.vcpus[v].ToList(), want[v].ToList()) << "libvirt pins vCPU " << v;
      EXPECT_EQ(hv.VcpuCpus(name, v), want[v].ToList())
          << "the kernel lets vCPU " << v << " run on";
    }
  }
}

// A reconcile run succeeded for this test's domains. Exit 3 means problems;
// those of other runs' domains sharing this libvirtd (types this catalog does
// not have) are theirs, not this test's.
inline void ExpectReconciled(const RunResult& r) {
  EXPECT_TRUE(r.end.Exited(0) || r.end.Exited(3)) << r.Describe();
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("problem:", 0) == 0) {
      EXPECT_EQ(line.find(DomainPrefix()), std::string::npos) << r.Describe();
    }
  }
}

// Base fixture: skips where the harness skipped, serialises with other build
// trees' runs, owns the domains and a fresh state directory.
class RealAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The harness exits 77 (skip) in exactly this case, and ctest still runs
    // the tests needing its fixture: they skip too, rather than fail. Without
    // /dev/kvm the domains run under TCG (tests/it_accelerator.h).
    if (geteuid() != 0) GTEST_SKIP() << "needs root for qemu:///system";
    if (const auto why = testing::HarnessSkipReason()) GTEST_SKIP() << *why;
    // libvirt's client writes to its socket with write(): a call on a
    // connection to a libvirtd that restarted would kill the test with SIGPIPE.
    // libvirt leaves that signal to the application (virsh ignores it too).
    std::signal(SIGPIPE, SIG_IGN);
    const char* agent = std::getenv("KVHOST_AGENT");
    const char* source = std::getenv("KVHOST_SOURCE_DIR");
    ASSERT_TRUE(agent && source)
        << "run through ctest: KVHOST_AGENT and KVHOST_SOURCE_DIR are unset";
    agent_ = agent;
    source_ = source;
    data_ = source_ / "tests/data/it";
    // tests/data/it/config.yaml with the test's own control socket: on the
    // default path (/run/kvhost-agent/control.sock) a `pin --watch` would
    // replace the socket of the host's daemon, were one running.
    config_ = logs_.path() / "config.yaml";
    std::ofstream(config_) << ReadFile(data_ / "config.yaml")
                           << "controlSocket: " << control_socket().string() << "\n";
    ASSERT_EQ(LoadAgentConfig(config_, true).domains, std::vector<std::string>{kItDomains})
        << "the tests' agent must see no domain but theirs";
    // RESOURCE_LOCK serialises tests of one ctest only. The agent places every
    // it.* domain of the host, so a second build tree's run would take this
    // test's CPUs: one run at a time, machine-wide.
    lock_fd_ = open("/run/lock/kvhost-it-pin-tests.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ASSERT_GE(lock_fd_, 0) << std::strerror(errno);
    ASSERT_TRUE(WaitUntil([&] { return flock(lock_fd_, LOCK_EX | LOCK_NB) == 0; }, 600s))
        << "lock held for 10 min";
    hv_.emplace();
    // The harness's guard (tests/harness/foreign_domains.sh) again, for a test
    // binary run by hand: never beside a VM these tests did not define.
    if (const std::string foreign = ForeignDomains(hv_->connection()); !foreign.empty())
      GTEST_SKIP() << kUri << " has domains these tests did not define (" << foreign
                   << "): they would re-pin them; run them where libvirt has no other domain";
    if (OnlineCpus().Count() < 2) GTEST_SKIP() << "needs a host with 2 or more CPUs";
  }
  void TearDown() override {
    watcher_.reset();  // the agent stops before its domains go
    hv_.reset();
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  // The agent's argv for `words` (a command and its arguments), with the test's
  // connection, state directory, config and catalog.
  std::vector<std::string> AgentArgs(std::vector<std::string> words) const {
    // info: the watcher's log says what it reconciled, pinned and freed.
    words.insert(words.begin(), {agent_, "--log-level", "debug"});
    // A test killed by a signal runs no destructor: setpriv (which execs the
    // agent in place, same pid) makes the kernel stop the agent with it, so no
    // orphaned watcher goes on pinning the next tests' domains.
    if (fs::exists(kSetpriv)) words.insert(words.begin(), {kSetpriv, "--pdeathsig", "TERM", "--"});
    for (std::string flag : {"--connect", kUri}) words.push_back(flag);
    words.insert(words.end(),
                 {"--state-dir", state_.path().string(), "--config", config_.string(), "--catalog",
                  (data_ / "catalog.yaml").string(), "--no-builtin-catalog"});
    return words;
  }
  RunResult Agent(const std::vector<std::string>& words,
                  const std::vector<std::string>& env = {}) const {
    return RunProcess(AgentArgs(words), env);
  }

  // Starts `pin --watch` (its stderr, the log, read by WatcherLog()); waits for its first
  // reconcile.
  void StartWatcher(const std::vector<std::string>& env = {}) {
    watcher_.reset();
    ++watcher_runs_;
    watcher_.emplace(AgentArgs({"pin", "--watch"}), env, logs_.path() / "watch.out",
                     watcher_log_path());
    ASSERT_TRUE(WaitUntil([&] { return WatcherLog().find("reconciled:") != std::string::npos; }))
        << "the watcher never reconciled:\n"
        << WatcherLog();
    EXPECT_NE(WatcherLog().find("control socket " + control_socket().string() + "\n"),
              std::string::npos)
        << "the watcher listens on the test's own control socket\n"
        << WatcherLog();
  }
  fs::path control_socket() const { return logs_.path() / "control.sock"; }
  fs::path watcher_log_path() const {
    return logs_.path() / ("watch-" + std::to_string(watcher_runs_) + ".log");
  }
  std::string WatcherLog() const { return ReadFile(watcher_log_path()); }

  v1::AgentState State() const { return ReadState(state_.path()); }
  std::optional<v1::Allocation> Allocation(const std::string& name) const {
    return AllocationOf(State(), hv_->Uuid(name));
  }

  std::string agent_;
  fs::path source_;
  fs::path data_;
  fs::path config_;  // data_'s config.yaml and the test's control socket
  int lock_fd_ = -1;
  TempDir state_;
  TempDir logs_;
  std::optional<Hypervisor> hv_;
  std::optional<ChildProcess> watcher_;  // after hv_: destroyed first
  int watcher_runs_ = 0;
};

}  // namespace kvhost::it
