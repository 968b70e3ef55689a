// pin, unpin and reconcile on the same command lines twice: with no daemon
// (the CLI acts itself), then while `kvhost-agent run` answers them over its
// control socket. What each prints, logs as a warning or error, and exits
// with must be the same either way. libvirt is test:/// (cli-node.xml, whose
// guests are pinned where the allocator puts them: every CLI process opens a
// fresh copy while the daemon keeps its own, so neither side finds drift).
#include <gtest/gtest.h>

#include <sstream>

#include "allocator_support.h"
#include "daemon_support.h"

namespace kvhost::it {
namespace {

constexpr char kFixture[] = "hwloc-16amd64-4n4c-hugepages";

std::string SourceDir() {
  const char* dir = std::getenv("KVHOST_SOURCE_DIR");
  return dir ? dir : ".";
}

// stderr without its info lines: those narrate how the work was done (the
// daemon asked, a state file loaded), which is what differs by design.
std::string WarningsAndErrors(const std::string& err) {
  std::istringstream lines(err);
  std::string kept;
  for (std::string line; std::getline(lines, line);)
    if (!line.starts_with("info: ")) kept += line + "\n";
  return kept;
}

class DaemonParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(testing::FixturesDir() / kFixture, root(), fs::copy_options::recursive);
    WriteText(config(),
              "refreshInterval: 200ms\nfeatureFile: " + (scratch.path() / "features").string() +
                  "\nnrtFile: \"\"\napiListen: off\nnodeName: test-node\n"
                  "controlSocket: " +
                  socket().string() + "\n");
  }

  fs::path root() const { return scratch.path() / "root"; }
  fs::path config() const { return scratch.path() / "config.yaml"; }
  fs::path state() const { return scratch.path() / "state"; }
  fs::path socket() const { return scratch.path() / "control.sock"; }
  std::string Uri() const { return "test://" + SourceDir() + "/tests/data/libvirt/cli-node.xml"; }

  std::vector<std::string> Common() const {
    return {"--root",      root().string(),  "--connect", Uri(),
            "--state-dir", state().string(), "--config",  config().string()};
  }

  RunResult Cli(std::vector<std::string> words) const {
    std::vector<std::string> argv{std::getenv("KVHOST_AGENT"), "--log-level", "info"};
    argv.insert(argv.end(), words.begin(), words.end());
    for (const auto& a : Common()) argv.push_back(a);
    return RunProcess(argv);
  }

  std::unique_ptr<ChildProcess> StartDaemon() {
    std::vector<std::string> argv{std::getenv("KVHOST_AGENT"), "--log-level", "info", "run"};
    for (const auto& a : Common()) argv.push_back(a);
    auto child = std::make_unique<ChildProcess>(argv, std::vector<std::string>{notify.Env()},
                                                scratch.path() / "out", scratch.path() / "err");
    EXPECT_TRUE(WaitUntil([&] { return notify.Received("READY=1"); })) << DaemonLog();
    return child;
  }
  std::string DaemonLog() const { return ReadFile(scratch.path() / "err"); }

  TempDir scratch;
  NotifySocket notify{scratch.path() / "notify.sock"};
};

// Every command's outcomes, in an order that passes through each of them:
// re-applied, refused types, missing domains, unpinned, left unpinned, placed again.
const std::vector<std::vector<std::string>> kCommands = {
    {"reconcile"},
    {"reconcile", "-o", "json"},
    {"pin", "kv-u1"},
    {"pin", "kv-u1", "-o", "json"},
    {"pin", "kv-u1", "--type", "no.such.type"},
    {"pin", "kv-u1", "--type", "u1.small"},
    {"pin", "kv-nosuch"},
    {"unpin", "kv-nosuch", "-o", "json"},
    {"unpin", "kv-u1", "-o", "json"},
    {"unpin", "kv-u1"},
    {"reconcile"},
    {"reconcile", "-o", "json"},
    {"pin", "kv-u1", "-o", "json"},
    {"reconcile"},
};

std::string Line(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  return line;
}

TEST_F(DaemonParityTest, EveryCommandPrintsAndExitsTheSameDirectlyAndThroughTheDaemon) {
  // The daemon reconciles as it starts; the direct side's first reconcile is that start.
  fs::create_directories(state());  // the daemon makes its own; a one-shot command does not
  const RunResult start = Cli({"reconcile"});
  ASSERT_TRUE(start.end.Exited(0)) << start.Describe();
  std::vector<RunResult> direct;
  for (const auto& words : kCommands) {
    direct.push_back(Cli(words));
    EXPECT_EQ(direct.back().err.find("done by the running daemon"), std::string::npos);
  }
  fs::remove_all(state());
  auto daemon = StartDaemon();
  for (size_t i = 0; i < kCommands.size(); ++i) {
    const RunResult through = Cli(kCommands[i]);
    SCOPED_TRACE(Line(kCommands[i]) + "\n--- directly: " + direct[i].Describe() +
                 "--- through the daemon: " + through.Describe());
    EXPECT_NE(through.err.find("done by the running daemon"), std::string::npos);
    EXPECT_EQ(through.end.status, direct[i].end.status);
    EXPECT_EQ(through.out, direct[i].out);
    EXPECT_EQ(WarningsAndErrors(through.err), WarningsAndErrors(direct[i].err));
  }
  EXPECT_TRUE(daemon->Stop(SIGTERM).Exited(0)) << DaemonLog();
}

}  // namespace
}  // namespace kvhost::it
