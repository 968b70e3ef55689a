// Subcommands of kvhost-agent. Each registers itself on the app and runs from
// its CLI11 callback; wiring only, the work lives in the libraries.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/catalog/instance_type.h"
#include "agent/config/agent_config.h"
#include "agent/libvirt/connection_set.h"
#include "agent/live/live_host.h"
#include "agent/live/placement_facts.h"
#include "audit.pb.h"
#include "control.pb.h"
#include "placement.pb.h"

namespace kvhost {
class ConnectionSet;
class LibvirtConnection;
class Pinner;
}  // namespace kvhost

namespace kvhost::cli {

// --kubelet-config's help, one text for every command that has it.
inline constexpr const char* kKubeletConfigHelp =
    "kubelet mode: kubelet's KubeletConfiguration (default: the config's kubeletConfig under "
    "--root, else <root>/var/lib/kubelet/config.yaml, else the running kubelet's --config)";

// Options every command that reads the host shares.
struct HostOptions {
  std::string root = "/";
  std::string config;  // empty: the default path, absent file = defaults
  std::vector<std::string> catalogs;
  bool no_builtin_catalog = false;
  std::string output = "text";
  std::string state_dir;       // empty: <root>/var/lib/kvhost-agent
  std::string kubelet_config;  // empty: kubeletConfig, else found (kubelet_config_location.h)
  // libvirt URIs asked what runs. Empty: qemu:///system on the real host; none
  // under a replayed --root (a fixture must not be charged with this machine's VMs).
  std::vector<std::string> connect;

  void AddTo(CLI::App* command, bool with_catalog);
  // --state-dir, --connect and --kubelet-config, for the commands that count what runs.
  void AddLiveOptions(CLI::App* command);
  std::filesystem::path StateDir() const;
  // A --state-dir that does not exist is most likely mistyped: "--state-dir X
  // does not exist (did you mean 'Y'?)"; nullopt when it exists or was not given.
  std::optional<std::string> MissingStateDir() const;
  // pin, unpin and reconcile save where the daemon keeps its allocations:
  // never in a directory a typo would create. Throws with MissingStateDir's words.
  void RefuseMissingStateDir() const;
  AgentConfig LoadConfig() const;
  // The config's `domains`: the only domains the command lists or looks up.
  DomainFilter ManagedDomains() const;
  Catalog LoadCatalog() const;
  // What libvirt says runs behind --connect (see `connect`); nullopt when no
  // URI applies or none answered (logged): the state file is then all there is.
  std::optional<RunningDomains> ReadRunning(const Catalog& catalog) const;
  // The host as it stands, what runs included (agent/live): the one way any
  // command comes to an allocator. `running`: ReadRunning's answer. Warnings
  // are logged here.
  LiveHost LoadLive(std::optional<RunningDomains> running) const;
  // The same, reading libvirt itself (the catalog is loaded for that).
  LiveHost LoadLive() const { return LoadLive(ReadRunning(LoadCatalog())); }
  // The host and its placement owner, nothing charged: for the pinner, which
  // rebuilds what runs from the same state file and libvirt itself.
  LiveHost LoadLiveShape() const;
  // The shape, and in kubelet mode kubelet's config, whose rules an audit applies.
  LiveHost LoadAuditView() const;
};

// How pin, unpin, reconcile and run reach libvirt.
struct ConnectOptions {
  std::vector<std::string> connect;
  bool kubevirt = false;
  std::string kubevirt_glob = kKubevirtSocketGlob;

  // --connect, --kubevirt, --kubevirt-sockets
  void AddConnectFlags(CLI::App* command);
  // The URIs to open: --connect, or qemu:///system when neither is given.
  std::vector<std::string> Uris() const;
};

// `run` (and its old spelling `pin --watch`): the daemon until SIGTERM.
int RunDaemonCommand(const HostOptions& host, const ConnectOptions& connect,
                     const std::string& state_dir);

// Opens the set's connections once (a one-shot command does not wait for
// backoff) and returns the open ones. Throws when none opened: acting on no
// domain at all would otherwise pass for success.
std::vector<const LibvirtConnection*> OpenConnections(ConnectionSet& connections);

// The audit of every domain behind `connections` by the placement owner's
// rules: the agent's placement policy, or kubelet's exclusive cpusets when
// kubelet places. Findings are logged too.
v1::AuditReport AuditWhatRuns(const HostOptions& options, const LiveHost& live,
                              const std::vector<const LibvirtConnection*>& connections);
// Prints it (text or json); returns the exit code: 4 on findings, else 0.
int PrintAudit(const v1::AuditReport& report, const std::string& output);

// Read for inspect: the owner for the options' config, kubelet's config in
// kubelet mode (agent/live/placement_facts.h has the rest).
PlacementFacts ReadPlacement(const HostOptions& options, const HostModel& host);

void AddInspectCommand(CLI::App& app, int& exit_code);
void AddCapacityCommands(CLI::App& app, int& exit_code);
void AddPinCommands(CLI::App& app, int& exit_code);
void AddAuditCommand(CLI::App& app, int& exit_code);
void AddPublishCommands(CLI::App& app, int& exit_code);
void AddKubeletConfigCommand(CLI::App& app, int& exit_code);
void AddQualifyCommand(CLI::App& app, int& exit_code);
void AddRunCommand(CLI::App& app, int& exit_code);
// Last: it lists the commands registered before it.
void AddCompletionCommand(CLI::App& app, int& exit_code);

}  // namespace kvhost::cli
