#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "agent/cli/commands.h"
#include "agent/control/control_client.h"
#include "agent/libvirt/connection_set.h"
#include "agent/libvirt/libvirt_error.h"
#include "agent/pinning/pin_outcome_text.h"
#include "agent/pinning/pinner.h"
#include "agent/report/host_report.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_lock.h"
#include "pinning.pb.h"

namespace kvhost::cli {

std::vector<const LibvirtConnection*> OpenConnections(ConnectionSet& connections) {
  connections.Refresh(ConnectionSet::Clock::now(), nullptr);
  std::vector<const LibvirtConnection*> open = connections.Open();
  if (open.empty()) throw std::runtime_error("no libvirt connection could be opened");
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
                         kubevirt ? std::optional<std::string>(kubevirt_glob) : std::nullopt);
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

// Exit code of pin, unpin and reconcile when the state file was corrupt: the
// command did its work on allocations rebuilt from libvirt, but a decision the
// agent had saved may have been lost, which an operator should hear about.
constexpr int kStateRebuiltExitCode = 5;
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
  std::cout << answer->output();
  if (!answer->error().empty()) spdlog::error("{}", answer->error());
  exit_code = answer->exit_code();
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
  StateStore store;
  LoadedState state_before;  // what the state file held once the lock was taken

  PinSession(const PinOptions& opt, const LiveHost& live)
      : lock(opt.StateDir()),
        pinner(live.resources, opt.LoadCatalog(), StateStore(opt.StateDir())),
        connections(opt.Connections()),
        store(opt.StateDir()),
        state_before(store.Read()) {
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

  // The UUID of the domain named (or with that UUID) on any open connection.
  // Thrown before anything is reconciled: a typo must change nothing.
  std::string FindDomain(const std::string& key) const {
    for (const auto* c : open) {
      try {
        return c->LookupDomain(key).uuid();
      } catch (const LibvirtError& e) {
        if (!e.DomainVanished()) throw;
      }
    }
    throw std::runtime_error("no domain '" + key + "' on any libvirt connection; nothing changed");
  }

  bool StateWasCorrupt() const { return state_before.status == StateLoadStatus::kCorrupt; }
  int ExitCode() const { return StateWasCorrupt() ? kStateRebuiltExitCode : 0; }

  // Where Reconcile moved the corrupt file: the newest state.pb.corrupt-*.
  std::string CorruptFileMovedTo() const {
    std::string newest;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(store.directory(), ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(StateStore::kCorruptPrefix, 0) == 0 && e.path().string() > newest)
        newest = e.path().string();
    }
    return newest;
  }

  // On stderr, so that `-o json` stays JSON.
  void WarnIfStateWasCorrupt() const {
    if (!StateWasCorrupt()) return;
    const std::string moved = CorruptFileMovedTo();
    spdlog::warn(
        "state file {} was corrupt ({}){}; allocations were rebuilt from libvirt (exit {})",
        store.file().string(), state_before.problem, moved.empty() ? "" : ", moved to " + moved,
        kStateRebuiltExitCode);
  }
};

v1::ReconcileResult ToResult(const ReconcileReport& r, const PinSession& session) {
  v1::ReconcileResult out;
  for (const auto& n : r.kept) out.add_kept(n);
  for (const auto& n : r.adopted) out.add_adopted(n);
  for (const auto& n : r.placed) out.add_placed(n);
  for (const auto& n : r.repinned) out.add_repinned(n);
  for (const auto& n : r.freed) out.add_freed(n);
  for (const auto& n : r.left_unpinned) out.add_left_unpinned(n);
  for (const auto& p : r.problems) out.add_problems(p);
  out.set_state_rebuilt(r.state_was_rebuilt);
  if (session.StateWasCorrupt()) {
    out.set_state_corrupt(session.state_before.problem);
    out.set_state_moved_to(session.CorruptFileMovedTo());
  }
  return out;
}

std::string FormatReconcile(const v1::ReconcileResult& r) {
  std::ostringstream out;
  auto list = [&out](const char* what, const auto& names) {
    out << what << " " << names.size();
    for (int i = 0; i < names.size(); ++i) out << (i == 0 ? ": " : ", ") << names[i];
    out << "\n";
  };
  if (!r.state_corrupt().empty())
    out << "state file was corrupt (" << r.state_corrupt() << "): rebuilt from libvirt\n";
  else if (r.state_rebuilt())
    out << "no state file: rebuilt from libvirt\n";
  list("kept", r.kept());
  list("adopted", r.adopted());
  list("placed", r.placed());
  list("re-pinned", r.repinned());
  list("freed", r.freed());
  list("left unpinned", r.left_unpinned());
  for (const auto& p : r.problems()) out << "problem: " << p << "\n";
  return out.str();
}

// `pin X --type T` on a domain that already holds an allocation of another type
// is refused: re-placing a running guest is an unpin and a pin, and the
// operator should choose that knowingly.
void RefuseTypeChange(const Pinner& pinner, const std::string& domain, const std::string& uuid,
                      const std::optional<std::string>& type) {
  if (!type) return;
  const auto it = pinner.vms().find(uuid);
  if (it == pinner.vms().end() || it->second.placement.instance_type == *type) return;
  throw std::runtime_error("'" + domain + "' is already pinned as " +
                           it->second.placement.instance_type + " (" + it->second.type_source +
                           "), not " + *type + ": run `kvhost-agent unpin " + domain +
                           "` first, then pin it with --type " + *type);
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
    v1::ControlRequest request;
    request.mutable_pin()->set_domain(pin->domain);
    request.mutable_pin()->set_type(pin->type);
    request.set_json(pin->output == "json");
    if (AskedTheDaemon(*pin, request, exit_code)) return;
    PinSession session(*pin, live);
    session.Connect();
    const std::string uuid = session.FindDomain(pin->domain);
    // Left unplaced by the reconcile when unknown to the state: it gets its --type next.
    LogReconcile(session.pinner.Reconcile(pin->domain));
    std::optional<std::string> type;
    if (!pin->type.empty()) type = pin->type;
    RefuseTypeChange(session.pinner, pin->domain, uuid, type);
    const PinOutcome outcome = session.pinner.PinOnAnyConnection(pin->domain, type);
    session.WarnIfStateWasCorrupt();
    std::cout << DescribePin(outcome, pin->output == "json");
    exit_code = session.ExitCode();
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
    v1::ControlRequest request;
    request.mutable_reconcile();
    if (AskedTheDaemon(*rec, request, exit_code)) return;
    PinSession session(*rec, live);
    session.Connect();
    const ReconcileReport r = session.pinner.Reconcile();
    session.WarnIfStateWasCorrupt();
    const v1::ReconcileResult result = ToResult(r, session);
    std::cout << (rec->output == "json" ? ToJson(result) : FormatReconcile(result));
    exit_code = r.problems.empty() ? session.ExitCode() : 3;
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
    v1::ControlRequest request;
    request.mutable_unpin()->set_domain(unpin->domain);
    if (AskedTheDaemon(*unpin, request, exit_code)) return;
    PinSession session(*unpin, live);
    session.Connect();
    session.FindDomain(unpin->domain);
    LogReconcile(session.pinner.Reconcile());
    v1::UnpinResult result;
    result.set_domain(unpin->domain);
    result.set_freed(session.pinner.UnpinOnAnyConnection(unpin->domain));
    session.WarnIfStateWasCorrupt();
    if (unpin->output == "json")
      std::cout << ToJson(result);
    else
      std::cout << (result.freed() ? "unpinned " + unpin->domain
                                   : unpin->domain + " holds no allocation")
                << "\n";
    exit_code = session.ExitCode();
  });
}

}  // namespace

void AddPinCommands(CLI::App& app, int& exit_code) {
  AddPinCommand(app, exit_code);
  AddReconcileCommand(app, exit_code);
  AddUnpinCommand(app, exit_code);
}

}  // namespace kvhost::cli
