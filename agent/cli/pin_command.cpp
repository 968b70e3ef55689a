#include <spdlog/spdlog.h>

#include <iostream>

#include "agent/cli/commands.h"
#include "agent/control/control_client.h"
#include "agent/libvirt/connection_set.h"
#include "agent/pinning/pin_commands.h"
#include "agent/pinning/pinner.h"
#include "agent/state/state_lock.h"

namespace kvhost::cli {

std::vector<const LibvirtConnection*> OpenConnections(ConnectionSet& connections) {
  connections.Refresh(ConnectionSet::Clock::now(), nullptr);
  std::vector<const LibvirtConnection*> open = connections.Open();
  if (open.empty())
    throw std::runtime_error("no libvirt connection could be opened (" + connections.NotOpen() +
                             ")");
  return open;
}

namespace {

struct PinOptions : HostOptions, ConnectOptions {
  std::string domain;
  std::string type;
  bool watch = false;

  void AddConnectionOptions(CLI::App* cmd) {
    AddTo(cmd, true);
    AddConnectFlags(cmd);
    cmd->add_option("--state-dir", state_dir,
                    "Where allocations are kept (state.pb; default <root>/var/lib/kvhost-agent)");
  }
  ConnectionSet Connections() const {
    return ConnectionSet(Uris(),
                         kubevirt ? std::optional<std::string>(kubevirt_glob) : std::nullopt,
                         ConnectionSet::Retrying::kOnce, ManagedDomains());
  }
  // The host through the one loader (agent/live); the pinner then charges it
  // itself from the state file and libvirt (reconcile), which the loader's
  // agent mode only reads.
  LiveHost Host() const { return LoadLiveShape(); }
};

// kubelet places on this host: the agent must not move a KubeVirt domain's threads.
[[noreturn]] void RefuseUnderKubelet(const std::string& command, const OwnerChoice& owner) {
  throw std::runtime_error(
      command + " refused: the placement owner is kubelet (" + owner.why +
      "). kubelet's static CPU manager gives each virt-launcher pod's compute container its "
      "exclusive CPUs and virt-launcher pins the vCPUs and the emulator inside them; re-pinning "
      "here would move threads out of the container's cpuset. `kvhost-agent audit` checks that "
      "placement; `placement: agent` is for hosts where no kubelet places VMs.");
}

// What a pinning command printed and exits with, wherever it ran.
void Print(const CommandOutcome& outcome, int& exit_code) {
  for (const auto& w : outcome.warnings) spdlog::warn("{}", w);
  std::cout << outcome.output;
  if (!outcome.error.empty()) spdlog::error("{}", outcome.error);
  exit_code = outcome.exit_code;
}

// A running daemon owns the allocator: pin, unpin and reconcile ask it over the
// control socket (config controlSocket). True when it answered (printed here).
bool AskedTheDaemon(const HostOptions& options, const v1::ControlRequest& request, int& exit_code) {
  const std::string socket = options.LoadConfig().daemon.control_socket;
  if (socket.empty()) return false;
  // A named --state-dir means those allocations, which a daemon keeping its
  // own elsewhere must not act on for us.
  v1::ControlRequest scoped = request;
  if (!options.state_dir.empty())
    scoped.set_state_dir(std::filesystem::absolute(options.StateDir()).string());
  const auto answer = control::AskDaemon(socket, scoped);
  if (!answer) return false;
  if (answer->not_this_daemon()) {
    spdlog::info("the daemon at {} is not asked: {}", socket, answer->error());
    return false;
  }
  spdlog::info("done by the running daemon ({})", socket);
  Print(OutcomeOf(*answer), exit_code);
  return true;
}

// What pin, unpin and reconcile act through. The lock is declared first: it is
// taken before the pinner exists and, members being destroyed in reverse,
// released after it, so no daemon decides allocations while this command does.
struct PinSession {
  StateLock lock;
  Pinner pinner;
  ConnectionSet connections;  // nothing opened yet: --watch leaves that to its loop
  std::vector<const LibvirtConnection*> open;

  PinSession(const PinOptions& opt, const LiveHost& live)
      : lock(opt.StateDir()),
        pinner(live.resources, opt.LoadCatalog(), StateStore(opt.StateDir())),
        connections(opt.Connections()) {
    // On the real host QEMU processes are checked and tuned through /proc; a
    // replayed root is only a model, so nothing there is touched.
    if (live.host.root.IsRealHost()) pinner.SetLocalRoot("/");
  }

  // One-shot commands open the connections once, before anything is decided.
  // With none open, Reconcile would free every saved allocation as "no longer
  // running", so that is refused.
  void Connect() {
    open = OpenConnections(connections);
    for (const auto* c : open) pinner.AddConnection(c);
  }
};

// The daemon's answer when one runs, else the command done here: the same
// implementation either way (agent/pinning/pin_commands.h).
void Act(const PinOptions& options, const LiveHost& live, const v1::ControlRequest& request,
         int& exit_code) {
  if (AskedTheDaemon(options, request, exit_code)) return;
  PinSession session(options, live);
  session.Connect();
  Print(RunPinningCommand(request, session.pinner, PinnerSource::kJustLoaded), exit_code);
}

void AddPinCommand(CLI::App& app, int& exit_code) {
  auto pin = std::make_shared<PinOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pin", "Place a running domain with the allocator and pin it through libvirt");
  pin->AddConnectionOptions(cmd);
  cmd->add_option("domain", pin->domain, "Domain name or UUID");
  cmd->add_option("--type", pin->type, "Instance type when the domain carries no kvhost metadata");
  cmd->add_flag("--watch", pin->watch, "The daemon (`run`, of which this is an alias)");
  cmd->callback([pin, &exit_code] {
    if (pin->watch == !pin->domain.empty())
      throw CLI::ValidationError("pin", "give either a DOMAIN or --watch");
    if (pin->watch) {  // a plain alias of `run`, in both placement modes
      exit_code = RunDaemonCommand(*pin, *pin, pin->StateDir().string());
      return;
    }
    const LiveHost live = pin->Host();
    if (live.owner.owner == PlacementOwner::kKubelet) RefuseUnderKubelet("pin", live.owner);
    pin->RefuseMissingStateDir();
    v1::ControlRequest request;
    request.mutable_pin()->set_domain(pin->domain);
    request.mutable_pin()->set_type(pin->type);
    request.set_json(pin->output == "json");
    Act(*pin, live, request, exit_code);
  });
}

void AddReconcileCommand(CLI::App& app, int& exit_code) {
  auto rec = std::make_shared<PinOptions>();
  CLI::App* rcmd = app.add_subcommand(
      "reconcile",
      "Rebuild allocations from the state file and libvirt, re-pin drift, free the gone");
  rec->AddConnectionOptions(rcmd);
  rcmd->callback([rec, &exit_code] {
    const LiveHost live = rec->LoadAuditView();
    if (live.owner.owner == PlacementOwner::kKubelet) {
      std::cout << "placement owner is kubelet (" << live.owner.why
                << "): nothing is re-pinned, the placement is audited\n";
      ConnectionSet connections = rec->Connections();
      exit_code = PrintAudit(AuditWhatRuns(*rec, live, OpenConnections(connections)), rec->output);
      return;
    }
    rec->RefuseMissingStateDir();
    v1::ControlRequest request;
    request.mutable_reconcile();
    request.set_json(rec->output == "json");
    Act(*rec, live, request, exit_code);
  });
}

void AddUnpinCommand(CLI::App& app, int& exit_code) {
  auto unpin = std::make_shared<PinOptions>();
  CLI::App* ucmd =
      app.add_subcommand("unpin", "Free a domain's allocation and let it float on the shared pool");
  unpin->AddConnectionOptions(ucmd);
  ucmd->add_option("domain", unpin->domain, "Domain name or UUID")->required();
  ucmd->callback([unpin, &exit_code] {
    const LiveHost live = unpin->Host();
    if (live.owner.owner == PlacementOwner::kKubelet) RefuseUnderKubelet("unpin", live.owner);
    unpin->RefuseMissingStateDir();
    v1::ControlRequest request;
    request.mutable_unpin()->set_domain(unpin->domain);
    request.set_json(unpin->output == "json");
    Act(*unpin, live, request, exit_code);
  });
}

}  // namespace

void AddPinCommands(CLI::App& app, int& exit_code) {
  AddPinCommand(app, exit_code);
  AddReconcileCommand(app, exit_code);
  AddUnpinCommand(app, exit_code);
}

}  // namespace kvhost::cli
