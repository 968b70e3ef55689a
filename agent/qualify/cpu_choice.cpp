#include "agent/qualify/cpu_choice.h"

namespace kvhost::qualify {
namespace {

CpuSet SiblingsOf(const CpuTopology& topology, unsigned cpu) {
  for (const auto& core : topology.cores)
    if (core.pus.Contains(cpu)) return core.pus;
  CpuSet alone;
  alone.Add(cpu);
  return alone;
}

CpuSet AllowedCpus(const CpuSet& online, const CpuSet& isolated, const CpuSet& held,
                   const CpuRequest& request) {
  if (!request.list) {
    const CpuSet free = (isolated & online) - held;
    if (free.Empty())
      throw CpuChoiceRefused(
          isolated.Empty()
              ? "no isolated CPU on this host (isolcpus=/nohz_full): nothing to qualify; give "
                "--cpus LIST --allow-non-isolated to measure anyway"
              : "every isolated CPU (" + isolated.ToList() + ") is held by a VM (" +
                    (isolated & held).ToList() + "): retry when one is free");
    return free;
  }
  const CpuSet& list = *request.list;
  if (list.Empty()) throw CpuChoiceRefused("--cpus names no CPU");
  if (!list.IsSubsetOf(online))
    throw CpuChoiceRefused("CPUs " + (list - online).ToList() + " are not online");
  if (list.Intersects(held))
    throw CpuChoiceRefused("CPUs " + (list & held).ToList() +
                           " are held by a VM: measuring them would disturb it");
  if (!list.IsSubsetOf(isolated) && !request.allow_non_isolated)
    throw CpuChoiceRefused("CPUs " + (list - isolated).ToList() +
                           " are not isolated; --allow-non-isolated measures them anyway, and "
                           "the verdict then says not qualifying");
  return list;
}

}  // namespace

CpuChoice ChooseCpus(const CpuTopology& topology, const CpuSet& isolated, const CpuSet& held,
                     const CpuRequest& request) {
  const CpuSet allowed = AllowedCpus(topology.online, isolated, held, request);
  CpuChoice choice;
  choice.qualifying = allowed.IsSubsetOf(isolated);
  choice.main_thread_cpu = allowed.Ids().front();
  if (allowed.Count() == 1) {
    choice.measured = allowed;
    choice.main_thread_shares_cpu = true;
    return choice;
  }
  const CpuSet siblings = SiblingsOf(topology, choice.main_thread_cpu);
  choice.measured = allowed - siblings;
  if (choice.measured.Empty())
    throw CpuChoiceRefused("CPUs " + allowed.ToList() + " are all SMT siblings of CPU " +
                           std::to_string(choice.main_thread_cpu) +
                           " (oslat's main thread): with SMT, qualification needs at least 4 "
                           "CPUs (two cores)");
  return choice;
}

}  // namespace kvhost::qualify
