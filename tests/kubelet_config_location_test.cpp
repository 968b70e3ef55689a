// Which file is kubelet's config: the flag, the config key, the default path,
// else the running kubelet's --config, found in a /proc replayed under a temp
// root (its own mount namespace, as Talos runs kubelet, or the host's). Then
// inspect saying which file and why.
#include "agent/live/kubelet_config_location.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent/live/kubelet_live.h"
#include "agent_process_support.h"
#include "damaged_root_support.h"
#include "host_report.pb.h"

namespace kvhost {
namespace {

constexpr const char* kHostNamespace = "mnt:[4026531840]";
constexpr const char* kKubeletNamespace = "mnt:[4026532611]";
constexpr const char* kTalosConfig = "/etc/kubernetes/kubelet.yaml";

// A /proc under a temp root: pid 1 in the host's mount namespace, and the
// processes a test adds.
struct ReplayedProc {
  TempDir tmp;
  fs::path root = tmp.path();

  ReplayedProc() { Process(1, {"/sbin/init"}, kHostNamespace); }

  // cmdline NUL-separated as the kernel gives it; comm as the kernel names a
  // program (its file name); ns/mnt a link to `mount_ns` unless empty.
  void Process(unsigned pid, const std::vector<std::string>& argv, const std::string& mount_ns) {
    const fs::path dir = root / "proc" / std::to_string(pid);
    fs::create_directories(dir / "ns");
    std::string cmdline;
    for (const auto& arg : argv) cmdline += arg + '\0';
    WriteFile(dir / "cmdline", cmdline);
    WriteFile(dir / "comm", fs::path(argv.front()).filename().string() + "\n");
    if (!mount_ns.empty()) fs::create_symlink(mount_ns, dir / "ns/mnt");
  }

  void File(const fs::path& under_root, const std::string& text = "cpuManagerPolicy: static\n") {
    fs::create_directories((root / under_root).parent_path());
    WriteFile(root / under_root, text);
  }

  KubeletConfigLocation Locate(const std::string& flag = "", const std::string& key = "") const {
    return LocateKubeletConfig(root, flag, key, "/etc/kvhost-agent/config.yaml");
  }
};

TEST(KubeletConfigLocation, AKubeletInItsOwnMountNamespaceIsReadThroughItsProcRoot) {
  ReplayedProc proc;
  proc.Process(1234,
               {"/usr/local/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubeconfig-kubelet",
                std::string("--config=") + kTalosConfig, "--v=2"},
               kKubeletNamespace);
  proc.File("proc/1234/root/etc/kubernetes/kubelet.yaml");
  proc.File("etc/kubernetes/kubelet.yaml",
            "cpuManagerPolicy: none\n");  // the host's: not kubelet's
  const KubeletConfigLocation where = proc.Locate();
  ASSERT_TRUE(where.found) << where.why;
  EXPECT_EQ(where.file, proc.root / "proc/1234/root/etc/kubernetes/kubelet.yaml");
  EXPECT_EQ(where.why,
            "kubelet pid 1234 --config /etc/kubernetes/kubelet.yaml (read through "
            "proc/1234/root: kubelet's own mount namespace)");
}

TEST(KubeletConfigLocation, AKubeletInTheHostsMountNamespaceIsReadUnderTheRoot) {
  ReplayedProc proc;
  proc.Process(77, {"/usr/bin/kubelet", "--config", kTalosConfig, "--node-ip=10.0.0.7"},
               kHostNamespace);
  proc.File("etc/kubernetes/kubelet.yaml");
  const KubeletConfigLocation where = proc.Locate();
  ASSERT_TRUE(where.found) << where.why;
  EXPECT_EQ(where.file, proc.root / "etc/kubernetes/kubelet.yaml");
  EXPECT_EQ(where.why,
            "kubelet pid 77 --config /etc/kubernetes/kubelet.yaml (the host's mount namespace)");
}

TEST(KubeletConfigLocation, ANamespaceThatCannotBeToldPrefersKubeletsRootWhenTheFileIsThere) {
  ReplayedProc proc;
  proc.Process(900, {"kubelet", "--config", kTalosConfig}, "");  // no ns/mnt link
  proc.File("etc/kubernetes/kubelet.yaml");
  KubeletConfigLocation where = proc.Locate();
  EXPECT_EQ(where.file, proc.root / "etc/kubernetes/kubelet.yaml") << where.why;
  EXPECT_NE(where.why.find("could not be told, but proc/900/root/etc/kubernetes/kubelet.yaml is "
                           "absent: the host's file of that name"),
            std::string::npos)
      << where.why;
  proc.File("proc/900/root/etc/kubernetes/kubelet.yaml");
  where = proc.Locate();
  EXPECT_EQ(where.file, proc.root / "proc/900/root/etc/kubernetes/kubelet.yaml") << where.why;
}

TEST(KubeletConfigLocation, ARelativeConfigIsTakenFromKubeletsWorkingDirectory) {
  ReplayedProc proc;
  proc.Process(55, {"/opt/bin/kubelet", "--config=kubelet.yaml"}, kKubeletNamespace);
  fs::create_symlink("/var/lib/kubelet-talos", proc.root / "proc/55/cwd");
  proc.File("proc/55/root/var/lib/kubelet-talos/kubelet.yaml");
  const KubeletConfigLocation where = proc.Locate();
  EXPECT_EQ(where.file, proc.root / "proc/55/root/var/lib/kubelet-talos/kubelet.yaml");
  EXPECT_EQ(where.why,
            "kubelet pid 55 --config kubelet.yaml in /var/lib/kubelet-talos (read through "
            "proc/55/root: kubelet's own mount namespace)");
}

TEST(KubeletConfigLocation, OnlyAProgramNamedKubeletIsKubelet) {
  ReplayedProc proc;
  proc.Process(10, {"/usr/bin/kubelet-watchdog", "--config=/etc/watchdog.yaml"}, kHostNamespace);
  proc.Process(11, {"/bin/sh", "-c", "kubelet --config=/etc/sh.yaml"}, kHostNamespace);
  // A FIFO in place of a cmdline is passed over, never opened for a read that blocks.
  fs::create_directories(proc.root / "proc/12");
  ASSERT_EQ(::mkfifo((proc.root / "proc/12/cmdline").c_str(), 0600), 0);
  proc.Process(13, {"/usr/bin/kubelet", "--config=/etc/real.yaml"}, kHostNamespace);
  EXPECT_EQ(proc.Locate().file, proc.root / "etc/real.yaml");
}

TEST(KubeletConfigLocation, TheFlagThenTheConfigKeyThenTheDefaultThenKubeletsArgument) {
  ReplayedProc proc;
  proc.Process(1234, {"/usr/local/bin/kubelet", "--config=/etc/kubernetes/kubelet.yaml"},
               kKubeletNamespace);
  proc.File("proc/1234/root/etc/kubernetes/kubelet.yaml");
  EXPECT_EQ(proc.Locate().file, proc.root / "proc/1234/root/etc/kubernetes/kubelet.yaml");
  proc.File("var/lib/kubelet/config.yaml");
  EXPECT_EQ(proc.Locate().file, proc.root / "var/lib/kubelet/config.yaml");
  EXPECT_EQ(proc.Locate().why, "default /var/lib/kubelet/config.yaml");
  // The key names a file on the host, read under the root.
  KubeletConfigLocation where = proc.Locate("", "/etc/k8s/kubelet-config.yaml");
  EXPECT_EQ(where.file, proc.root / "etc/k8s/kubelet-config.yaml");
  EXPECT_EQ(where.why, "config /etc/kvhost-agent/config.yaml: kubeletConfig");
  // The flag names a file on this machine, as given.
  where = proc.Locate("/srv/kubelet.yaml", "/etc/k8s/kubelet-config.yaml");
  EXPECT_EQ(where.file, "/srv/kubelet.yaml");
  EXPECT_EQ(where.why, "--kubelet-config");
  EXPECT_TRUE(where.found);
}

TEST(KubeletConfigLocation, NoFileAndNoKubeletIsAnErrorNamingWhatWasTried) {
  ReplayedProc proc;
  KubeletConfigLocation where = proc.Locate();
  EXPECT_FALSE(where.found);
  EXPECT_EQ(where.file, proc.root / "var/lib/kubelet/config.yaml");
  EXPECT_EQ(where.why,
            "absent, and no process under " + (proc.root / "proc").string() + " runs kubelet");
  try {
    LoadKubeletConfig(proc.root, "", AgentConfig{});
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              (proc.root / "var/lib/kubelet/config.yaml").string() + ": " + where.why +
                  "; kubelet mode needs kubelet's config (give --kubelet-config or the config "
                  "key kubeletConfig)");
  }
  EXPECT_FALSE(FindKubeletConfig(proc.root, "", AgentConfig{}).has_value());
  proc.Process(400, {"/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf"},
               kHostNamespace);
  where = proc.Locate();
  EXPECT_FALSE(where.found);
  EXPECT_EQ(where.why, "absent, and kubelet pid 400 runs without --config (" +
                           (proc.root / "proc/400/cmdline").string() + ")");
}

TEST(KubeletConfigLocation, AFileNamedButAbsentIsAnErrorSayingWhoNamedIt) {
  ReplayedProc proc;
  proc.Process(1234, {"/usr/local/bin/kubelet", "--config=/etc/kubernetes/kubelet.yaml"},
               kKubeletNamespace);
  try {
    LoadKubeletConfig(proc.root, "", AgentConfig{});
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), proc.root / "proc/1234/root/etc/kubernetes/kubelet.yaml");
    EXPECT_NE(std::string(e.what()).find(
                  ": absent (kubelet pid 1234 --config /etc/kubernetes/kubelet.yaml (read "
                  "through proc/1234/root: kubelet's own mount namespace; the host's "
                  "/etc/kubernetes/kubelet.yaml is absent too))"),
              std::string::npos)
        << e.what();
  }
  AgentConfig config;
  config.kubelet_config = "/etc/kubelet.yaml";
  config.source = "/etc/kvhost-agent/config.yaml";
  try {
    LoadKubeletConfig(proc.root, "", config);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), proc.root / "etc/kubelet.yaml");
    EXPECT_NE(std::string(e.what()).find("absent (config /etc/kvhost-agent/config.yaml: "
                                         "kubeletConfig)"),
              std::string::npos)
        << e.what();
  }
}

TEST(KubeletConfigLocation, TheLoadedConfigSaysWhyItsFileWasRead) {
  ReplayedProc proc;
  proc.Process(1234, {"/usr/local/bin/kubelet", "--config=/etc/kubernetes/kubelet.yaml"},
               kKubeletNamespace);
  proc.File("proc/1234/root/etc/kubernetes/kubelet.yaml", "topologyManagerPolicy: restricted\n");
  const kubelet::KubeletConfig c = LoadKubeletConfig(proc.root, "", AgentConfig{});
  EXPECT_EQ(c.topology_manager_policy, "restricted");
  EXPECT_EQ(c.source, (proc.root / "proc/1234/root/etc/kubernetes/kubelet.yaml").string());
  EXPECT_EQ(c.source_why, proc.Locate().why);
}

TEST(KubeletConfigArgument, TakesBothFormsAsKubeletsFlagParserDoes) {
  using namespace std::string_literals;
  EXPECT_EQ(KubeletConfigArgument("kubelet\0--config=/a.yaml\0"s), "/a.yaml");
  EXPECT_EQ(KubeletConfigArgument("kubelet\0--config\0/a.yaml\0"s), "/a.yaml");
  EXPECT_EQ(KubeletConfigArgument("kubelet\0--config\0/a.yaml\0--config=/b.yaml"s), "/b.yaml");
  EXPECT_EQ(KubeletConfigArgument("kubelet\0--config=\0"s), "");
  EXPECT_EQ(KubeletConfigArgument("kubelet\0--\0--config=/a.yaml\0"s), std::nullopt);
  EXPECT_EQ(KubeletConfigArgument("kubelet\0--config-dir=/etc/kubelet.d\0"s), std::nullopt);
  EXPECT_EQ(KubeletConfigArgument("kubelet\0--config\0"s), std::nullopt);
  EXPECT_EQ(KubeletConfigArgument("--config=/a.yaml"s), std::nullopt);  // that is argv[0]
}

TEST(KubeletConfigLocation, InspectSaysWhichFileKubeletsSettingsCameFromAndWhy) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  fs::create_directories(root / "proc/1/ns");
  fs::create_symlink(kHostNamespace, root / "proc/1/ns/mnt");
  fs::create_directories(root / "proc/4321/ns");
  fs::create_symlink(kKubeletNamespace, root / "proc/4321/ns/mnt");
  using namespace std::string_literals;
  WriteFile(root / "proc/4321/cmdline", "/usr/local/bin/kubelet\0--config\0"s + kTalosConfig);
  fs::create_directories(root / "proc/4321/root/etc/kubernetes");
  WriteFile(root / "proc/4321/root/etc/kubernetes/kubelet.yaml",
            "cpuManagerPolicy: static\nreservedSystemCPUs: \"0,16\"\n");
  const std::string config = (tmp.path() / "agent.yaml").string();
  WriteFile(config, "placement: kubelet\n");
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_NE(agent, nullptr);
  const std::string why =
      "kubelet pid 4321 --config /etc/kubernetes/kubelet.yaml (read through proc/4321/root: "
      "kubelet's own mount namespace)";
  const std::string file = (root / "proc/4321/root/etc/kubernetes/kubelet.yaml").string();
  const it::RunResult text =
      it::RunProcess({agent, "inspect", "--root", root.string(), "--config", config});
  ASSERT_TRUE(text.end.Exited(0)) << text.Describe();
  EXPECT_NE(text.out.find("kubelet   " + file + " (" + why + "): cpuManagerPolicy static"),
            std::string::npos)
      << text.out;
  const it::RunResult json =
      it::RunProcess({agent, "inspect", "--root", root.string(), "--config", config, "-o", "json"});
  ASSERT_TRUE(json.end.Exited(0)) << json.Describe();
  v1::HostReport report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &report).ok()) << json.out;
  EXPECT_EQ(report.placement().kubelet().source(), file);
  EXPECT_EQ(report.placement().kubelet().source_why(), why);
  // The flag overrides the search, and says so.
  const std::string flagged = (tmp.path() / "kubelet.yaml").string();
  WriteFile(flagged, "cpuManagerPolicy: static\nreservedSystemCPUs: \"0\"\n");
  const it::RunResult by_flag = it::RunProcess(
      {agent, "inspect", "--root", root.string(), "--config", config, "--kubelet-config", flagged});
  ASSERT_TRUE(by_flag.end.Exited(0)) << by_flag.Describe();
  EXPECT_NE(by_flag.out.find("kubelet   " + flagged + " (--kubelet-config): "), std::string::npos)
      << by_flag.out;
}

TEST(KubeletConfigLocation, TheContainerRuntimeIsReadFromTheSameFile) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  fs::create_directories(root / "proc/1/ns");
  fs::create_symlink(kHostNamespace, root / "proc/1/ns/mnt");
  fs::create_directories(root / "proc/880/ns");
  fs::create_symlink(kKubeletNamespace, root / "proc/880/ns/mnt");
  using namespace std::string_literals;
  WriteFile(root / "proc/880/cmdline", "kubelet\0--config="s + kTalosConfig + "\0"s);
  fs::create_directories(root / "proc/880/root/etc/kubernetes");
  const fs::path file = root / "proc/880/root/etc/kubernetes/kubelet.yaml";
  WriteFile(file, "containerRuntimeEndpoint: unix:///run/crio/crio.sock\n");
  // No cpu_manager_state: the agent places, and the runtime still decides who steers IRQs.
  const std::string config = (tmp.path() / "agent.yaml").string();
  WriteFile(config, "");
  const char* agent = std::getenv("KVHOST_AGENT");
  ASSERT_NE(agent, nullptr);
  const it::RunResult json =
      it::RunProcess({agent, "inspect", "--root", root.string(), "--config", config, "-o", "json"});
  ASSERT_TRUE(json.end.Exited(0)) << json.Describe();
  v1::HostReport report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &report).ok()) << json.out;
  EXPECT_EQ(report.placement().owner(), "agent");
  EXPECT_EQ(report.container_runtime().name(), "cri-o");
  EXPECT_EQ(report.container_runtime().source(),
            file.string() + ": containerRuntimeEndpoint unix:///run/crio/crio.sock");
}

// `run` in kubelet mode until it has said which kubelet config it found.
std::string DaemonLog(const fs::path& root, const fs::path& scratch,
                      const std::vector<std::string>& extra) {
  const std::string config = (scratch / "agent.yaml").string();
  WriteFile(config,
            "placement: kubelet\nkubeletConfig: /etc/k8s/kubelet.yaml\nfeatureFile: \"\"\n"
            "nrtFile: \"\"\napiListen: off\ncontrolSocket: \"\"\n");
  const std::string kubelet =
      "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
      "cpuManagerPolicy: static\nreservedSystemCPUs: \"0,16\"\n";
  fs::create_directories(root / "etc/k8s");
  WriteFile((root / "etc/k8s/kubelet.yaml").string(), kubelet);
  WriteFile((scratch / "kubelet.yaml").string(), kubelet);
  std::vector<std::string> argv{std::getenv("KVHOST_AGENT"),
                                "--log-level",
                                "info",
                                "run",
                                "--root",
                                root.string(),
                                "--config",
                                config,
                                "--state-dir",
                                (scratch / "state").string(),
                                "--connect",
                                "test:///default"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  it::ChildProcess daemon(argv, {}, scratch / "out", scratch / "err");
  it::WaitUntil([&] {
    return it::ReadFile(scratch / "err").find("ready on root") != std::string::npos ||
           daemon.WaitFor(std::chrono::milliseconds(0)).has_value();
  });
  daemon.Stop(SIGTERM);
  return it::ReadFile(scratch / "err");
}

TEST(KubeletConfigLocation, RunTakesTheFlagBeforeTheConfigKey) {
  TempDir tmp;
  const fs::path root = CopyFixture(kIntelHugepages, tmp);
  ASSERT_NE(std::getenv("KVHOST_AGENT"), nullptr);
  const std::string by_key = DaemonLog(root, tmp.path(), {});
  EXPECT_NE(by_key.find("kubelet config " + (root / "etc/k8s/kubelet.yaml").string() + " (config " +
                        (tmp.path() / "agent.yaml").string() + ": kubeletConfig)"),
            std::string::npos)
      << by_key;
  const std::string flagged = (tmp.path() / "kubelet.yaml").string();
  const std::string by_flag = DaemonLog(root, tmp.path(), {"--kubelet-config", flagged});
  EXPECT_NE(by_flag.find("kubelet config " + flagged + " (--kubelet-config)"), std::string::npos)
      << by_flag;
}

}  // namespace
}  // namespace kvhost
