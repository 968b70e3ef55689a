// What pin, unpin and reconcile print: the same words whether the CLI acts
// itself or the daemon does (agent/daemon/control_actions.cpp).
#include "agent/pinning/pin_outcome_text.h"

#include <sstream>

#include "agent/report/host_report.h"
#include "agent/state/allocation_convert.h"

namespace kvhost {
namespace {

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

}  // namespace

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

}  // namespace kvhost
