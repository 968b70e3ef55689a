// Subcommands of kvhost-agent. Each registers itself on the app and runs from
// its CLI11 callback; wiring only, the work lives in the libraries.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "agent/catalog/instance_type.h"
#include "agent/config/agent_config.h"
#include "agent/libvirt/connection_set.h"
#include "agent/live/live_host.h"
#include "control.pb.h"

namespace kvhost {
class ConnectionSet;
class LibvirtConnection;
class Pinner;
}  // namespace kvhost

namespace kvhost::cli {

// Options every command that reads the host shares.
struct HostOptions {
  std::string root = "/";
  std::string config;  // empty: the default path, absent file = defaults
  std::vector<std::string> catalogs;
  bool no_builtin_catalog = false;
  std::string output = "text";
  std::string state_dir;  // empty: <root>/var/lib/kvhost-agent

  void AddTo(CLI::App* command, bool with_catalog);
  // --state-dir, for the commands that count what runs.
  void AddStateDir(CLI::App* command);
  AgentConfig LoadConfig() const;
  Catalog LoadCatalog() const;
  // The host as it stands, what runs included (agent/live): the one way any
  // command comes to an allocator. Warnings are logged here.
  LiveHost LoadLive() const;
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

// The daemon's side of the control socket: pin, unpin or reconcile with the
// daemon's pinner, answering what the command would print and exit with.
v1::ControlResponse ActForControlRequest(const v1::ControlRequest& request, Pinner& pinner);

// `run` (and its old spelling `pin --watch`): the daemon until SIGTERM.
int RunDaemonCommand(const HostOptions& host, const ConnectOptions& connect,
                     const std::string& state_dir);

// Opens the set's connections once (a one-shot command does not wait for
// backoff) and returns the open ones. Throws when none opened: acting on no
// domain at all would otherwise pass for success.
std::vector<const LibvirtConnection*> OpenConnections(ConnectionSet& connections);

void AddInspectCommand(CLI::App& app, int& exit_code);
void AddCapacityCommands(CLI::App& app, int& exit_code);
void AddPinCommands(CLI::App& app, int& exit_code);
void AddAuditCommand(CLI::App& app, int& exit_code);
void AddPublishCommands(CLI::App& app, int& exit_code);
void AddRunCommand(CLI::App& app, int& exit_code);

}  // namespace kvhost::cli
