// What pin, unpin and reconcile print, text or JSON (agent/pinning/pin_commands.cpp
// decides when, wherever the command runs).
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

v1::ReconcileResult ReconcileResultOf(const ReconcileReport& r) {
  v1::ReconcileResult out;
  for (const auto& n : r.kept) out.add_kept(n);
  for (const auto& n : r.adopted) out.add_adopted(n);
  for (const auto& n : r.placed) out.add_placed(n);
  for (const auto& n : r.repinned) out.add_repinned(n);
  for (const auto& n : r.freed) out.add_freed(n);
  for (const auto& n : r.left_unpinned) out.add_left_unpinned(n);
  for (const auto& n : r.not_managed) out.add_not_managed(n);
  for (const auto& p : r.problems) out.add_problems(p);
  out.set_state_rebuilt(r.state_was_rebuilt);
  out.set_state_corrupt(r.state_corrupt);
  out.set_state_moved_to(r.state_moved_to);
  return out;
}

std::string DescribeReconcile(const v1::ReconcileResult& r) {
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
  // Only where `domains` leaves some out: a host the agent has alone reads as before.
  if (r.not_managed_size() > 0) list("not managed (outside `domains`)", r.not_managed());
  for (const auto& p : r.problems()) out << "problem: " << p << "\n";
  return out.str();
}

std::string DescribePin(const PinOutcome& outcome, bool json) {
  if (!json) return Describe(outcome);
  v1::Allocation allocation = AllocationFromPlacement(outcome.placement, outcome.uuid, "");
  allocation.set_domain_name(outcome.domain);
  allocation.set_type_source(outcome.type_source);
  return ToJson(allocation);
}

std::string DescribeUnpin(const v1::UnpinResult& result, bool json) {
  if (json) return ToJson(result);
  return result.freed() ? "unpinned " + result.domain() + "\n"
                        : result.domain() + " holds no allocation\n";
}

}  // namespace kvhost
