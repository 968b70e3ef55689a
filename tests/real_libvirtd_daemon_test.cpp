// `kvhost-agent run` on this host against the real libvirtd and QEMU (the
// `libvirtd` ctest fixture; KVM, or TCG without /dev/kvm): a domain the test
// starts is pinned by the daemon, and what the scheduler reads (the NFD label
// file, the API's report) changes with it and changes back when it stops.
// The it.* config and catalog (tests/data/it) with the publishers turned on in
// the test's own directory.
#include <gtest/gtest.h>

#include <algorithm>

#include "agent/publish/feature_file.h"
#include "daemon_support.h"
#include "pin_it_support.h"

namespace kvhost::it {
namespace {

constexpr char kPrefix[] = "kvhost.cozystack.io/";

class RealLibvirtdDaemon : public RealAgentTest {
 protected:
  fs::path features() const { return run_.path() / "features.d" / "kvhost-agent"; }

  void StartDaemon() {
    fs::create_directories(run_.path() / "features.d");
    port_ = FreeLoopbackPort();
    const fs::path config = run_.path() / "config.yaml";
    // As tests/data/it/config.yaml (no reserved CPUs, only the tests' domains:
    // see there), publishing.
    WriteText(config,
              "reservedCpus: \"\"\nrefreshInterval: 500ms\nnodeName: it-node\nfeatureFile: " +
                  features().string() + "\nnrtFile: " + (run_.path() / "nrt.yaml").string() +
                  "\napiListen: 127.0.0.1:" + std::to_string(port_) + "\ncontrolSocket: " +
                  (run_.path() / "control.sock").string() + "\ndomains: \"" + kItDomains + "\"\n");
    std::vector<std::string> args = AgentArgs({"run"});
    *(std::find(args.begin(), args.end(), "--config") + 1) = config.string();
    daemon_.emplace(args, std::vector<std::string>{notify_.Env()}, run_.path() / "out",
                    run_.path() / "err");
    ASSERT_TRUE(WaitUntil([&] { return notify_.Received("READY=1") || Ended(); }, 60s)) << Log();
    ASSERT_TRUE(notify_.Received("READY=1")) << Log();
  }
  bool Ended() { return daemon_->WaitFor(std::chrono::milliseconds(0)).has_value(); }
  std::string Log() const { return ReadFile(run_.path() / "err"); }

  publish::Labels Labels() const {
    return publish::ParseFeatureFile(ReadFile(features()), publish::Clock::now()).labels;
  }
  std::string Label(const std::string& name) const {
    const auto labels = Labels();
    const auto at = labels.find(kPrefix + name);
    return at == labels.end() ? "" : at->second;
  }

  TempDir run_;
  NotifySocket notify_{run_.path() / "notify.sock"};
  unsigned short port_ = 0;
  std::optional<ChildProcess> daemon_;
};

TEST_F(RealLibvirtdDaemon, LabelsAndApiFollowADomainItPinsAndFreesAtItsStop) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const auto before = Labels();
  ASSERT_FALSE(before.empty()) << ReadFile(features());
  EXPECT_EQ(Label("placement-owner"), "agent");
  const std::string free_before = Label("capacity.it.dedicated");
  ASSERT_FALSE(free_before.empty()) << ReadFile(features());
  ASSERT_GT(std::stoi(free_before), 0) << "this host fits an it.dedicated guest\n"
                                       << ReadFile(features());

  const std::string ded = hv_->Define("daemon", 1, "it.dedicated");
  hv_->Start(ded);
  ASSERT_TRUE(WaitUntil([&] { return Allocation(ded).has_value(); }, 30s))
      << "the daemon did not pin " << ded << ":\n"
      << Log();
  const v1::Allocation allocation = *Allocation(ded);
  ASSERT_TRUE(allocation.dedicated());
  EXPECT_EQ(hv_->VcpuCpus(ded, 0), std::to_string(allocation.vcpu_cpus(0)))
      << "the kernel runs the vCPU on the CPU the daemon gave it";
  EXPECT_TRUE(WaitUntil([&] { return Label("capacity.it.dedicated") != free_before; }, 10s))
      << "the label file did not take the CPU the domain holds:\n"
      << ReadFile(features());
  EXPECT_LT(std::stoi(Label("capacity.it.dedicated")), std::stoi(free_before));
  const std::string uuid = hv_->Uuid(ded);
  EXPECT_NE(HttpGet(port_, "/v1/report").find(uuid), std::string::npos)
      << "the API reports the allocation";

  hv_->Destroy(ded);
  EXPECT_TRUE(WaitUntil([&] { return Labels() == before; }, 30s))
      << "the labels did not come back after " << ded << " stopped:\n"
      << ReadFile(features()) << Log();
  EXPECT_FALSE(Allocation(ded).has_value());
  EXPECT_EQ(HttpGet(port_, "/v1/report").find(uuid), std::string::npos);

  kill(daemon_->pid(), SIGTERM);
  const auto end = daemon_->WaitFor(std::chrono::seconds(2));
  ASSERT_TRUE(end.has_value()) << "still running 2 s after SIGTERM\n" << Log();
  EXPECT_TRUE(end->Exited(0)) << end->Describe() << "\n" << Log();
  EXPECT_TRUE(notify_.Received("STOPPING=1"));
}

}  // namespace
}  // namespace kvhost::it
