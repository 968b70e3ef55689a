// The real kvhost-agent binary, checked for one command line: every command
// that offers `-o json` prints the protobuf JSON mapping of a kvhost.v1 message;
// every usage error exits 2; a corrupt state file is never a silent success;
// `pin` neither acts on a domain that does not exist nor ignores --type.
// libvirt is its test:/// driver (tests/data/libvirt/cli-node.xml, a private
// copy per process); the host is the fixture hwloc-16amd64-4n4c-hugepages.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <regex>

#include "agent_process_support.h"
#include "base/cpu_set.h"
#include "capacity.pb.h"
#include "pinning.pb.h"
#include "state.pb.h"

namespace kvhost::it {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) throw std::runtime_error(std::string(name) + " is not set (run through ctest)");
  return value;
}

std::string Fixture(const std::string& machine) { return Env("KVHOST_FIXTURES") + "/" + machine; }

const std::string kNode = "hwloc-16amd64-4n4c-hugepages";

std::string NodeUri() {
  return "test://" + Env("KVHOST_SOURCE_DIR") + "/tests/data/libvirt/cli-node.xml";
}

RunResult Agent(std::vector<std::string> args) {
  args.insert(args.begin(), Env("KVHOST_AGENT"));
  return RunProcess(args);
}

template <class Message>
Message FromJson(const RunResult& r) {
  Message m;
  const auto status = google::protobuf::util::JsonStringToMessage(r.out, &m);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << r.Describe();
  return m;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class CliConsistency : public ::testing::Test {
 protected:
  // pin, unpin and reconcile against the test:/// node, with a private state dir.
  RunResult Pinning(std::vector<std::string> args) {
    for (const std::string& a : {std::string("--root"), Fixture(kNode), std::string("--connect"),
                                 NodeUri(), std::string("--state-dir"), state_dir.path().string()})
      args.push_back(a);
    return Agent(args);
  }
  TempDir state_dir;
};

TEST_F(CliConsistency, EveryUsageErrorExitsTwo) {
  const std::vector<std::vector<std::string>> mistakes = {
      {"inspect", "--no-such-option"},                                // CLI11: 109 extras
      {"explain"},                                                    // 106 required
      {"inspect", "-o", "yaml"},                                      // 105 validation
      {"inspect", "unexpected-positional"},                           // 109
      {"--log-level"},                                                // 114 argument mismatch
      {"pin", "--root", Fixture(kNode)},                              // pin's own ValidationError
      {"--log-level", "bogus", "inspect", "--root", Fixture(kNode)},  // was accepted: 0
  };
  for (const auto& args : mistakes) {
    const RunResult r = Agent(args);
    EXPECT_TRUE(r.end.Exited(2)) << args.front() << " " << args.back() << "\n" << r.Describe();
  }
}

TEST_F(CliConsistency, LogLevelIsCheckedAndAcceptedAfterTheCommand) {
  const RunResult bogus = Agent({"--log-level", "bogus", "inspect", "--root", Fixture(kNode)});
  EXPECT_TRUE(Contains(bogus.err, "--log-level")) << bogus.Describe();
  // After the command, as any of its own options: `no state file` is an info line.
  const RunResult after = Pinning({"reconcile", "--log-level", "info"});
  EXPECT_TRUE(after.end.Exited(0)) << after.Describe();
  EXPECT_TRUE(Contains(after.err, "info: no state file")) << after.Describe();
  const RunResult quiet = Pinning({"reconcile"});
  EXPECT_FALSE(Contains(quiet.err, "info: ")) << quiet.Describe();
}

TEST_F(CliConsistency, AnUnknownCommandIsNamedWithTheCommandsThereAre) {
  const RunResult r = Agent({"inspct", "--root", "/"});
  EXPECT_TRUE(r.end.Exited(2)) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "unknown command 'inspct'")) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "inspect, capacity")) << r.Describe();
}

TEST_F(CliConsistency, ExplainHonoursJsonOutput) {
  const RunResult r = Agent({"explain", "cx1.large", "--root", Fixture(kNode), "-o", "json"});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  const auto fits = FromJson<v1::InstanceTypeCapacity>(r);
  EXPECT_EQ(fits.name(), "cx1.large");
  EXPECT_TRUE(fits.dedicated());
  EXPECT_FALSE(fits.blockers().empty()) << "the reason the next one does not fit";
}

TEST_F(CliConsistency, CommandsWithOneFixedFormatDoNotOfferJson) {
  for (const char* command : {"labels", "metrics"}) {
    const RunResult r = Agent({command, "--root", Fixture(kNode), "-o", "json"});
    EXPECT_TRUE(r.end.Exited(2)) << command << "\n" << r.Describe();
  }
}

TEST_F(CliConsistency, CapacityDoesNotListWhatIfDedicatedCpusAsShared) {
  const RunResult r = Agent({"capacity", "--root", Fixture("hwloc-32intel64-2p8co2t-hugepages"),
                             "-o", "json", "--what-if", "add cx1.large=1"});
  ASSERT_TRUE(r.end.Exited(0)) << r.Describe();
  const auto report = FromJson<v1::CapacityReport>(r);
  const auto& pools = report.pools();
  const CpuSet held =
      ParseCpuList(pools.dedicated_cpus()) - ParseCpuList(pools.free_dedicated_cpus());
  ASSERT_FALSE(held.Empty()) << "the what-if dedicated some CPUs";
  EXPECT_FALSE(held.Intersects(ParseCpuList(pools.shared_cpus())))
      << held.ToList() << " are dedicated and listed as shared: " << pools.shared_cpus();
  for (const auto& node : report.nodes())
    EXPECT_FALSE(held.Intersects(ParseCpuList(node.shared_cpus()))) << "node " << node.id();
}

TEST_F(CliConsistency, ReconcileAndUnpinHonourJsonOutput) {
  const RunResult rec = Pinning({"reconcile", "-o", "json"});
  ASSERT_TRUE(rec.end.Exited(0)) << "no state file is the first start, not an error\n"
                                 << rec.Describe();
  const auto result = FromJson<v1::ReconcileResult>(rec);
  EXPECT_TRUE(result.state_rebuilt());
  EXPECT_TRUE(result.state_corrupt().empty());
  EXPECT_EQ(result.placed_size(), 2) << rec.out;
  const RunResult unpin = Pinning({"unpin", "kv-u1", "-o", "json"});
  ASSERT_TRUE(unpin.end.Exited(0)) << unpin.Describe();
  const auto freed = FromJson<v1::UnpinResult>(unpin);
  EXPECT_EQ(freed.domain(), "kv-u1");
  EXPECT_TRUE(freed.freed());
}

TEST_F(CliConsistency, ReconcileOnACorruptStateFileExitsFiveAndNamesTheFile) {
  const fs::path state = state_dir.path() / "state.pb";
  { std::ofstream(state) << "not a state file"; }
  const RunResult r = Pinning({"reconcile", "-o", "json"});
  EXPECT_TRUE(r.end.Exited(5)) << r.Describe();
  EXPECT_TRUE(Contains(r.err, state.string() + " was corrupt")) << r.Describe();
  const auto result = FromJson<v1::ReconcileResult>(r);
  EXPECT_FALSE(result.state_corrupt().empty());
  EXPECT_TRUE(Contains(result.state_moved_to(), "state.pb.corrupt-")) << r.out;
  EXPECT_TRUE(fs::exists(result.state_moved_to())) << "the evidence is kept";
  EXPECT_EQ(result.placed_size(), 2) << "allocations were rebuilt from libvirt";
  // The rebuilt state is good: the next reconcile is an ordinary one.
  EXPECT_TRUE(Pinning({"reconcile"}).end.Exited(0));
}

TEST_F(CliConsistency, PinOfADomainThatDoesNotExistChangesNothing) {
  const RunResult r = Pinning({"pin", "kv-nosuch"});
  EXPECT_TRUE(r.end.Exited(1)) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "no domain 'kv-nosuch'")) << r.Describe();
  EXPECT_FALSE(fs::exists(state_dir.path() / "state.pb"))
      << "no other domain was reconciled and saved\n"
      << r.Describe();
  const RunResult unpin = Pinning({"unpin", "kv-nosuch"});
  EXPECT_TRUE(unpin.end.Exited(1)) << unpin.Describe();
  EXPECT_FALSE(fs::exists(state_dir.path() / "state.pb")) << unpin.Describe();
}

TEST_F(CliConsistency, PinWithAnotherTypeThanThePinnedOneIsRefused) {
  const RunResult first = Pinning({"pin", "kv-bare", "--type", "u1.small", "-o", "json"});
  ASSERT_TRUE(first.end.Exited(0)) << first.Describe();
  EXPECT_EQ(FromJson<v1::Allocation>(first).instance_type(), "u1.small");
  const RunResult again = Pinning({"pin", "kv-bare", "--type", "u1.medium"});
  EXPECT_TRUE(again.end.Exited(1)) << again.Describe();
  EXPECT_TRUE(Contains(again.err, "already pinned as u1.small")) << again.Describe();
  EXPECT_TRUE(Contains(again.err, "unpin kv-bare")) << again.Describe();
  // The same type again is the idempotent re-apply it always was.
  const RunResult same = Pinning({"pin", "kv-bare", "--type", "u1.small"});
  EXPECT_TRUE(same.end.Exited(0)) << same.Describe();
}

TEST_F(CliConsistency, NumbersReadAsNumbersAndNrtJsonEndsInOneNewline) {
  const RunResult capacity = Agent({"capacity", "--root", Fixture(kNode)});
  ASSERT_TRUE(capacity.end.Exited(0)) << capacity.Describe();
  const std::regex pools(
      R"(pools: dedicated \d+ CPUs? \([0-9,-]+\), \d+ CPUs?( \([0-9,-]+\))? free; shared \d+ CPUs?.*; )"
      R"(reserved \d+ CPUs?( \([0-9,-]+\))?; ordinary memory .* free)");
  EXPECT_TRUE(std::regex_search(capacity.out, pools)) << capacity.out;
  EXPECT_EQ(capacity.out.find(" 1 CPUs"), std::string::npos) << capacity.out;
  EXPECT_EQ(capacity.out.find(" 1 free dedicated cores"), std::string::npos) << capacity.out;
  const RunResult nrt = Agent({"nrt", "--root", Fixture(kNode), "--node-name", "n", "-o", "json"});
  ASSERT_TRUE(nrt.end.Exited(0)) << nrt.Describe();
  ASSERT_GE(nrt.out.size(), 2u);
  EXPECT_EQ(nrt.out.substr(nrt.out.size() - 2), "}\n");
}

}  // namespace
}  // namespace kvhost::it
