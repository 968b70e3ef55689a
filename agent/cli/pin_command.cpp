#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include "agent/cli/commands.h"
#include "agent/daemon/self_affinity.h"
#include "agent/daemon/watch_loop.h"
#include "agent/host/discover.h"
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

struct PinOptions : HostOptions {
  std::vector<std::string> connect;
  bool kubevirt = false;
  std::string kubevirt_glob = kKubevirtSocketGlob;
  std::string state_dir = "/var/lib/kvhost-agent";
  std::string domain;
  std::string type;
  bool watch = false;

  void AddConnectionOptions(CLI::App* cmd) {
    AddTo(cmd, true);
    cmd->add_option("--connect", connect, "libvirt URI (repeatable; default qemu:///system)");
    cmd->add_flag("--kubevirt", kubevirt,
                  "Also connect to every virt-launcher pod's virtqemud socket");
    cmd->add_option("--kubevirt-sockets", kubevirt_glob, "Glob of the per-pod sockets")
        ->capture_default_str();
    cmd->add_option("--state-dir", state_dir, "Where allocations are kept (state.pb)")
        ->capture_default_str();
  }
  ConnectionSet Connections() const {
    std::vector<std::string> uris = connect;
    if (uris.empty() && !kubevirt) uris.push_back("qemu:///system");
    return ConnectionSet(uris, kubevirt ? std::optional<std::string>(kubevirt_glob) : std::nullopt);
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
    auto host = pin->Host();
    // The agent's own threads stay on housekeeping CPUs, away from every guest;
    // bound here, before the session or the watch loop can start a thread.
    if (pin->watch && !host->reserved.Empty()) BindSelfToCpus(host->reserved);
    PinSession session(*pin, std::move(host));
    if (pin->watch) {
      RunWatchLoop(session.pinner, session.connections, {});  // it opens and reopens them
      exit_code = 0;
      return;
    }
    LogReconcile(session.ConnectAndReconcile(pin->domain));
    std::optional<std::string> type;
    if (!pin->type.empty()) type = pin->type;
    const PinOutcome outcome = session.pinner.PinOnAnyConnection(pin->domain, type);
    if (pin->output == "json")
      std::cout << ToJson(AllocationFromPlacement(outcome.placement, outcome.uuid, ""));
    else
      std::cout << Describe(outcome);
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
    PinSession session(*rec, rec->Host());
    const ReconcileReport r = session.ConnectAndReconcile();
    auto list = [](const char* what, const std::vector<std::string>& names) {
      std::cout << what << " " << names.size();
      for (const auto& n : names) std::cout << (&n == &names.front() ? ": " : ", ") << n;
      std::cout << "\n";
    };
    if (r.state_was_rebuilt) std::cout << "state file missing or corrupt: rebuilt from libvirt\n";
    list("kept", r.kept);
    list("adopted", r.adopted);
    list("placed", r.placed);
    list("re-pinned", r.repinned);
    list("freed", r.freed);
    list("left unpinned", r.left_unpinned);
    for (const auto& p : r.problems) std::cout << "problem: " << p << "\n";
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
    PinSession session(*unpin, unpin->Host());
    LogReconcile(session.ConnectAndReconcile());
    if (session.pinner.UnpinOnAnyConnection(unpin->domain))
      std::cout << "unpinned " << unpin->domain << "\n";
    else
      std::cout << unpin->domain << " holds no allocation\n";
    exit_code = 0;
  });
}

}  // namespace

void AddPinCommands(CLI::App& app, int& exit_code) {
  AddPinCommand(app, exit_code);
  AddReconcileCommand(app, exit_code);
  AddUnpinCommand(app, exit_code);
}

}  // namespace kvhost::cli
