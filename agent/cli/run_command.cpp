// `kvhost-agent run`: the daemon (agent/daemon), in both placement modes.
// `pin --watch` is a plain alias of it.
#include "agent/cli/commands.h"
#include "agent/daemon/daemon.h"
#include "kvhost_build_info.h"

namespace kvhost::cli {

int RunDaemonCommand(const HostOptions& host, const ConnectOptions& connect,
                     const std::string& state_dir) {
  DaemonOptions options{.root = host.root,
                        .config_path = host.config,
                        .kubelet_config = host.kubelet_config,
                        .state_dir = state_dir,
                        .connect = connect.Uris(),
                        .kubevirt_glob = std::nullopt,
                        .load_catalog = [host] { return host.LoadCatalog(); },
                        .version = build_info::kVersion,
                        .git_commit = build_info::kGitCommit,
                        .build_type = build_info::kBuildType,
                        .on_ready = nullptr};
  if (connect.kubevirt) options.kubevirt_glob = connect.kubevirt_glob;
  return RunDaemon(options);
}

void AddRunCommand(CLI::App& app, int& exit_code) {
  auto host = std::make_shared<HostOptions>();
  auto connect = std::make_shared<ConnectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "The daemon: pin VMs as they start, refresh, publish labels, NRT, metrics and the API");
  host->AddTo(cmd, true);
  cmd->remove_option(cmd->get_option("--output"));
  cmd->add_option("--state-dir", host->state_dir,
                  "Where allocations are kept (state.pb; default <root>/var/lib/kvhost-agent)");
  cmd->add_option("--kubelet-config", host->kubelet_config, kKubeletConfigHelp);
  connect->AddConnectFlags(cmd);
  cmd->callback([host, connect, &exit_code] {
    exit_code = RunDaemonCommand(*host, *connect, host->StateDir().string());
  });
}

void ConnectOptions::AddConnectFlags(CLI::App* cmd) {
  cmd->add_option("--connect", connect, "libvirt URI (repeatable; default qemu:///system)");
  cmd->add_flag("--kubevirt", kubevirt,
                "Also connect to every virt-launcher pod's virtqemud socket");
  cmd->add_option("--kubevirt-sockets", kubevirt_glob, "Glob of the per-pod sockets")
      ->capture_default_str();
}

std::vector<std::string> ConnectOptions::Uris() const {
  std::vector<std::string> uris = connect;
  if (uris.empty() && !kubevirt) uris.push_back("qemu:///system");
  return uris;
}

}  // namespace kvhost::cli
