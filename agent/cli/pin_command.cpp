#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "agent/cli/commands.h"
#include "agent/control/control_client.h"
#include "agent/host/discover.h"
#include "agent/libvirt/connection_set.h"
#include "agent/pinning/pinner.h"
#include "agent/report/host_report.h"
#include "agent/state/allocation_convert.h"
#include "agent/state/state_lock.h"

namespace kvhost::cli {

std::vector<const LibvirtConnection*> OpenConnections(ConnectionSet& connections) {
  connections.Refresh(ConnectionSet::Clock::now(), nullptr);
  std::vector<const LibvirtConnection*> open = connections.Open();
  if (open.empty()) throw std::runtime_error("no libvirt connection could be opened");
  return open;
}

namespace {

struct PinOptions : HostOptions, ConnectOptions {
  std::string state_dir = "/var/lib/kvhost-agent";
  std::string domain;
  std::string type;
  bool watch = false;

  void AddConnectionOptions(CLI::App* cmd) {
    AddTo(cmd, true);
    AddConnectFlags(cmd);
    cmd->add_option("--state-dir", state_dir, "Where allocations are kept (state.pb)")
        ->capture_default_str();
  }
  ConnectionSet Connections() const {
    return ConnectionSet(Uris(),
                         kubevirt ? std::optional<std::string>(kubevirt_glob) : std::nullopt);
  }
  // On the real host (root "/") QEMU processes are checked and tuned through /proc;
  // a replayed root is only a model, so nothing there is touched.
  void Localize(Pinner& pinner) const {
    std::error_code ec;
    if (std::filesystem::equivalent(root, "/", ec)) pinner.SetLocalRoot("/");
  }
  std::shared_ptr<const HostResources> Host() const {
    const HostModel host = DiscoverHost(root);
    for (const auto& w : host.warnings) spdlog::warn("{}", w);
    return std::make_shared<const HostResources>(BuildHostResources(host, LoadConfig()));
  }
};

std::string Describe(const PinOutcome& out) {
  std::ostringstream s;
  const Placement& p = out.placement;
  s << (out.already_pinned ? "re-applied " : "pinned ") << out.domain << " as " << p.instance_type
    << " (" << out.type_source << ")\n";
  if (p.dedicated) {
    s << "  vCPUs:";
    for (size_t i = 0; i < p.vcpu_cpus.size(); ++i) s << " " << i << "->" << p.vcpu_cpus[i];
    s << "\n  emulator: " << (p.emulator_cpu ? std::to_string(*p.emulator_cpu) : "with the vCPUs")
      << "\n";
  } else {
    s << "  shared pool: " << p.shared_cpus.ToList() << "\n";
  }
  if (!p.numa_nodes.empty()) {
    s << "  memory strict on node(s)";
    for (unsigned n : p.numa_nodes) s << " " << n;
    s << " (" << NumaOutcomeName(out.applied.numa)
      << (out.applied.numa_deferred_reason.empty() ? "" : ": " + out.applied.numa_deferred_reason)
      << ")\n";
  }
  for (const auto& g : p.hugepages)
    s << "  hugepages: " << g.pages << " x " << g.size_kib << " KiB on node " << g.node << "\n";
  s << "  verified: libvirt read-back" << (out.local.verified_from_proc ? " and /proc" : "")
    << (out.local.note.empty() ? "" : " (" + out.local.note + ")") << "\n";
  if (out.local.fifo_threads)
    s << "  realtime: " << out.local.fifo_threads << " vCPU threads SCHED_FIFO 1\n";
  if (!out.local.steered_irqs.empty())
    s << "  irqs: " << out.local.steered_irqs.size() << " device IRQs steered off its CPUs\n";
  return s.str();
}

std::string DescribeReconcile(const ReconcileReport& r) {
  std::ostringstream s;
  auto list = [&](const char* what, const std::vector<std::string>& names) {
    s << what << " " << names.size();
    for (const auto& n : names) s << (&n == &names.front() ? ": " : ", ") << n;
    s << "\n";
  };
  if (r.state_was_rebuilt) s << "state file missing or corrupt: rebuilt from libvirt\n";
  list("kept", r.kept);
  list("adopted", r.adopted);
  list("placed", r.placed);
  list("re-pinned", r.repinned);
  list("freed", r.freed);
  for (const auto& p : r.problems) s << "problem: " << p << "\n";
  return s.str();
}

std::string DescribePin(const PinOutcome& outcome, bool json) {
  return json ? ToJson(AllocationFromPlacement(outcome.placement, outcome.uuid, ""))
              : Describe(outcome);
}

std::string DescribeUnpin(const std::string& domain, bool unpinned) {
  return unpinned ? "unpinned " + domain + "\n" : domain + " holds no allocation\n";
}

// A running daemon owns the allocator: pin, unpin and reconcile ask it over the
// control socket (config controlSocket). True when it answered (printed here).
bool AskedTheDaemon(const HostOptions& options, const v1::ControlRequest& request, int& exit_code) {
  const std::string socket = options.LoadConfig().daemon.control_socket;
  if (socket.empty()) return false;
  const auto answer = control::AskDaemon(socket, request);
  if (!answer) return false;
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

  PinSession(const PinOptions& opt, std::shared_ptr<const HostResources> host)
      : lock(opt.state_dir),
        pinner(std::move(host), opt.LoadCatalog(), StateStore(opt.state_dir)),
        connections(opt.Connections()) {
    opt.Localize(pinner);
  }

  // One-shot commands: open the connections once and rebuild the allocations
  // from libvirt. With none open, Reconcile would free every saved allocation
  // as "no longer running", so that is refused.
  // `about_to_pin`: the domain the caller pins next, left for its own --type.
  ReconcileReport ConnectAndReconcile(const std::string& about_to_pin = "") {
    for (const auto* c : OpenConnections(connections)) pinner.AddConnection(c);
    return pinner.Reconcile(about_to_pin);
  }
};

void AddPinCommand(CLI::App& app, int& exit_code) {
  auto pin = std::make_shared<PinOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pin", "Place a running domain with the allocator and pin it through libvirt");
  pin->AddConnectionOptions(cmd);
  cmd->add_option("domain", pin->domain, "Domain name or UUID");
  cmd->add_option("--type", pin->type, "Instance type when the domain carries no kvhost metadata");
  cmd->add_flag("--watch", pin->watch,
                "Stay in the foreground: pin domains as they start, free them as they stop");
  cmd->callback([pin, &exit_code] {
    if (pin->watch == !pin->domain.empty())
      throw CLI::ValidationError("pin", "give either a DOMAIN or --watch");
    if (pin->watch) {  // the old spelling of `run`
      exit_code = RunDaemonCommand(*pin, *pin, pin->state_dir);
      return;
    }
    v1::ControlRequest request;
    request.mutable_pin()->set_domain(pin->domain);
    request.mutable_pin()->set_type(pin->type);
    request.set_json(pin->output == "json");
    if (AskedTheDaemon(*pin, request, exit_code)) return;
    PinSession session(*pin, pin->Host());
    LogReconcile(session.ConnectAndReconcile(pin->domain));
    std::optional<std::string> type;
    if (!pin->type.empty()) type = pin->type;
    const PinOutcome outcome = session.pinner.PinOnAnyConnection(pin->domain, type);
    std::cout << DescribePin(outcome, pin->output == "json");
    exit_code = 0;
  });
}

void AddReconcileCommand(CLI::App& app, int& exit_code) {
  auto rec = std::make_shared<PinOptions>();
  CLI::App* rcmd = app.add_subcommand(
      "reconcile",
      "Rebuild allocations from the state file and libvirt, re-pin drift, free the gone");
  rec->AddConnectionOptions(rcmd);
  rcmd->callback([rec, &exit_code] {
    v1::ControlRequest request;
    request.mutable_reconcile();
    if (AskedTheDaemon(*rec, request, exit_code)) return;
    PinSession session(*rec, rec->Host());
    const ReconcileReport r = session.ConnectAndReconcile();
    std::cout << DescribeReconcile(r);
    exit_code = r.problems.empty() ? 0 : 3;
  });
}

void AddUnpinCommand(CLI::App& app, int& exit_code) {
  auto unpin = std::make_shared<PinOptions>();
  CLI::App* ucmd =
      app.add_subcommand("unpin", "Free a domain's allocation and let it float on the shared pool");
  unpin->AddConnectionOptions(ucmd);
  ucmd->add_option("domain", unpin->domain, "Domain name or UUID")->required();
  ucmd->callback([unpin, &exit_code] {
    v1::ControlRequest request;
    request.mutable_unpin()->set_domain(unpin->domain);
    if (AskedTheDaemon(*unpin, request, exit_code)) return;
    PinSession session(*unpin, unpin->Host());
    LogReconcile(session.ConnectAndReconcile());
    std::cout << DescribeUnpin(unpin->domain, session.pinner.UnpinOnAnyConnection(unpin->domain));
    exit_code = 0;
  });
}

}  // namespace

v1::ControlResponse ActForControlRequest(const v1::ControlRequest& request, Pinner& pinner) {
  v1::ControlResponse response;
  switch (request.action_case()) {
    case v1::ControlRequest::kPin: {
      std::optional<std::string> type;
      if (!request.pin().type().empty()) type = request.pin().type();
      response.set_output(
          DescribePin(pinner.PinOnAnyConnection(request.pin().domain(), type), request.json()));
      break;
    }
    case v1::ControlRequest::kUnpin:
      response.set_output(DescribeUnpin(request.unpin().domain(),
                                        pinner.UnpinOnAnyConnection(request.unpin().domain())));
      break;
    case v1::ControlRequest::kReconcile: {
      const ReconcileReport report = pinner.Reconcile();
      LogReconcile(report);
      response.set_output(DescribeReconcile(report));
      response.set_exit_code(report.problems.empty() ? 0 : 3);
      break;
    }
    case v1::ControlRequest::ACTION_NOT_SET:
      throw std::invalid_argument("the request names no action");
  }
  return response;
}

void AddPinCommands(CLI::App& app, int& exit_code) {
  AddPinCommand(app, exit_code);
  AddReconcileCommand(app, exit_code);
  AddUnpinCommand(app, exit_code);
}

}  // namespace kvhost::cli
