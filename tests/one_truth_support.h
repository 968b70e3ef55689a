// A host of the one-truth tests: a copied fixture root in one placement mode
// (the agent's, kubelet's with no pod, kubelet's with dedicated pods holding
// whole cores of one NUMA node, written as kubelet writes its checkpoint), an
// agent config, and the real binary's one-shot answers and daemon files.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include "agent/allocator/host_resources.h"
#include "agent/config/agent_config.h"
#include "agent/host/discover.h"
#include "capacity.pb.h"
#include "daemon_support.h"
#include "kubelet_checkpoint_writer.h"

namespace kvhost::it {

enum class Mode { kAgent, kKubeletEmpty, kKubeletBusy };

inline const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kAgent:
      return "agent";
    case Mode::kKubeletEmpty:
      return "kubelet-empty";
    case Mode::kKubeletBusy:
      return "kubelet-busy";
  }
  return "?";
}

// The features file without its expiry line (a wall-clock stamp).
inline std::string WithoutExpiry(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.rfind("# +expiry-time=", 0) != 0) out += line + "\n";
    start = end + 1;
  }
  return out;
}

inline std::string SourceDir() {
  const char* dir = std::getenv("KVHOST_SOURCE_DIR");
  return dir ? dir : ".";
}

// kubelet's CPU manager checkpoint (written atomically) after admitting pods that hold up to two
// whole cores of the first NUMA node with CPUs, outside the reserved CPUs
// (always leaving one such core free). Returns the CPUs handed out.
inline CpuSet WriteBusyCheckpoint(const fs::path& root, const CpuSet& reserved) {
  const HostModel host = DiscoverHost(root);
  CpuSet first;
  for (const auto& node : host.numa.nodes)
    if (first.Empty()) first = node.cpus;
  std::vector<CpuSet> cores;
  for (const auto& core : host.cpu.cores)
    if ((core.pus & first) == core.pus && (core.pus & reserved).Empty()) cores.push_back(core.pus);
  kubelet::CpuManagerAssignments state;
  CpuSet assigned;
  for (size_t i = 0; i + 1 < cores.size() && i < 2; ++i) {
    state.assignments["pod-" + std::to_string(i)]["compute"] = cores[i];
    assigned |= cores[i];
  }
  state.default_cpu_set = host.cpu.online - assigned;
  // Atomically, as kubelet's checkpoint manager writes it.
  const fs::path dir = root / "var/lib/kubelet";
  WriteText(dir / ".cpu_manager_state.tmp", testing::CpuCheckpointText(state));
  fs::rename(dir / ".cpu_manager_state.tmp", dir / "cpu_manager_state");
  return assigned;
}

class OneTruthHost {
 public:
  OneTruthHost(const std::string& fixture, Mode mode) {
    fs::copy(testing::FixturesDir() / fixture, root(), fs::copy_options::recursive);
    WriteText(config(), std::string("placement: ") + (mode == Mode::kAgent ? "agent" : "kubelet") +
                            "\nrefreshInterval: 300ms\nfeatureFile: " + features().string() +
                            "\nnrtFile: " + nrt().string() +
                            "\napiListen: off\nnodeName: test-node\ncontrolSocket: \"\"\n");
    if (mode == Mode::kAgent) return;
    fs::create_directories(root() / "var/lib/kubelet");
    // kubelet configured as the agent's config intends (the fragment an operator applies).
    const RunResult fragment =
        Agent({"kubelet-config", "--root", root().string(), "--config", config().string()});
    EXPECT_TRUE(fragment.end.Exited(0)) << fragment.Describe();
    WriteText(root() / "var/lib/kubelet/config.yaml", fragment.out);
    if (mode == Mode::kKubeletBusy)
      WriteBusyCheckpoint(root(), BuildHostResources(DiscoverHost(root()), AgentConfig{}).reserved);
  }

  fs::path root() const { return scratch.path() / "root"; }
  fs::path config() const { return scratch.path() / "config.yaml"; }
  fs::path state() const { return scratch.path() / "state"; }
  fs::path features() const { return scratch.path() / "kvhost-agent.features"; }
  fs::path nrt() const { return scratch.path() / "nrt.yaml"; }

  RunResult Agent(std::vector<std::string> args) const {
    args.insert(args.begin(), std::getenv("KVHOST_AGENT"));
    return RunProcess(args);
  }
  // A one-shot command on this host: labels, nrt, capacity...
  RunResult OneShot(const std::string& command, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{command,           "--root",      root().string(), "--config",
                                  config().string(), "--state-dir", state().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return Agent(args);
  }

  // `run` until it has written the features file (and the NRT, unless
  // capacity is unknown), then SIGTERM. Returns how it ended.
  ProcessEnd RunDaemonOnce(bool expect_nrt) const {
    const std::string uri = "test://" + SourceDir() + "/tests/data/libvirt/empty-node.xml";
    ChildProcess child({std::getenv("KVHOST_AGENT"), "run", "--root", root().string(), "--config",
                        config().string(), "--state-dir", state().string(), "--connect", uri},
                       {}, scratch.path() / "run.out", scratch.path() / "run.err");
    EXPECT_TRUE(WaitUntil([&] {
      return (fs::exists(features()) && (!expect_nrt || fs::exists(nrt()))) ||
             child.WaitFor(std::chrono::milliseconds(0)).has_value();
    })) << DaemonLog();
    return child.Stop(SIGTERM);
  }
  std::string DaemonLog() const { return ReadFile(scratch.path() / "run.err"); }

 private:
  TempDir scratch;
};

inline v1::CapacityReport CapacityOf(const RunResult& r) {
  v1::CapacityReport report;
  const auto status = google::protobuf::util::JsonStringToMessage(r.out, &report);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << r.Describe();
  return report;
}

}  // namespace kvhost::it
