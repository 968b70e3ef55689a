#include "cpu/hwloc_topology.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "base/sysfs_root.h"

namespace kvhost {
namespace {

// hwloc 2 takes a foreign root only through the environment, which is process-wide.
std::mutex& EnvMutex() {
  static std::mutex m;
  return m;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

CpuSet ToCpuSet(hwloc_const_bitmap_t bitmap) {
  CpuSet set;
  if (!bitmap || hwloc_bitmap_isfull(bitmap)) return set;
  for (int i = hwloc_bitmap_first(bitmap); i >= 0; i = hwloc_bitmap_next(bitmap, i))
    set.Add(static_cast<unsigned>(i));
  return set;
}

// What hwloc 2.9's Linux backend opens under HWLOC_FSROOT (seen with strace on
// the fixtures): it opens them blocking and never checks their type, so a FIFO
// there would hang discovery. The kernel's own tree has none; a dump might.
constexpr std::string_view kTreesHwlocReads[] = {"proc/cpuinfo",
                                                 "proc/meminfo",
                                                 "sys/devices/system/cpu",
                                                 "sys/devices/system/node",
                                                 "sys/kernel/mm/hugepages",
                                                 "sys/class/dmi/id",
                                                 "sys/devices/virtual/dmi/id",
                                                 "sys/bus/dax/devices",
                                                 "proc/driver/nvidia/gpus"};

}  // namespace

HwlocTopology HwlocTopology::Load(const HostRoot& root) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) throw std::runtime_error("hwloc_topology_init failed");
  HwlocTopology topo(raw);
  hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_NONE);

  int rc;
  if (root.IsRealHost()) {
    rc = hwloc_topology_load(raw);
  } else {
    const SysfsRoot sysfs = root.Sysfs();
    for (std::string_view tree : kTreesHwlocReads) sysfs.RefuseUnreadableEntries(tree);
    std::lock_guard lock(EnvMutex());
    ScopedEnv fsroot("HWLOC_FSROOT", std::filesystem::absolute(root.path()).string());
    ScopedEnv components("HWLOC_COMPONENTS", "linux,stop");
    ScopedEnv hwdata("HWLOC_DUMPED_HWDATA_DIR", "/nonexistent");
    rc = hwloc_topology_load(raw);
  }
  if (rc != 0)
    throw InputError(root.path(), std::string("hwloc could not load a topology from this root: ") +
                                      std::strerror(errno));
  return topo;
}

HwlocView HwlocTopology::Extract() const {
  HwlocView view;
  hwloc_topology_t t = topo_.get();
  CpuTopology& cpu = view.cpu;

  hwloc_obj_t pu = nullptr;
  while ((pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu))) cpu.online.Add(pu->os_index);

  cpu.packages = static_cast<unsigned>(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE));
  for (hwloc_obj_t pkg = nullptr; (pkg = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PACKAGE, pkg));) {
    if (const char* model = hwloc_obj_get_info_by_name(pkg, "CPUModel")) {
      cpu.cpu_model = model;
      break;
    }
  }
  // When /proc/cpuinfo does not tie the model to packages (ARM), hwloc puts
  // CPUModel on the root Machine object instead.
  if (cpu.cpu_model.empty())
    if (const char* model = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t), "CPUModel"))
      cpu.cpu_model = model;
  // /proc/cpuinfo pads some model names with spaces ("Intel(R) Xeon(R) CPU   ").
  while (!cpu.cpu_model.empty() && (cpu.cpu_model.back() == ' ' || cpu.cpu_model.back() == '\t'))
    cpu.cpu_model.pop_back();

  CpuSet in_cores;
  for (hwloc_obj_t core = nullptr; (core = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_CORE, core));) {
    PhysicalCore pc;
    pc.pus = ToCpuSet(core->cpuset) & cpu.online;
    if (pc.pus.Empty()) continue;
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, core);
    pc.package = pkg ? pkg->logical_index : 0;
    in_cores |= pc.pus;
    cpu.cores.push_back(std::move(pc));
  }
  // A PU that hwloc found under no core is a core of its own.
  (cpu.online - in_cores).ForEach([&](unsigned id) {
    hwloc_obj_t p = hwloc_get_pu_obj_by_os_index(t, id);
    hwloc_obj_t pkg = p ? hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, p) : nullptr;
    PhysicalCore pc;
    pc.package = pkg ? pkg->logical_index : 0;
    pc.pus.Add(id);
    cpu.cores.push_back(std::move(pc));
  });
  std::sort(cpu.cores.begin(), cpu.cores.end(), [](const PhysicalCore& a, const PhysicalCore& b) {
    return a.pus.First() < b.pus.First();
  });
  for (const auto& c : cpu.cores)
    cpu.threads_per_core = std::max(cpu.threads_per_core, c.pus.Count());

  for (hwloc_obj_t l3 = nullptr; (l3 = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_L3CACHE, l3));) {
    CpuSet s = ToCpuSet(l3->cpuset) & cpu.online;
    if (!s.Empty()) cpu.l3_groups.push_back(std::move(s));
  }

  for (hwloc_obj_t n = nullptr; (n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n));) {
    HwlocNumaNode node;
    node.id = n->os_index;
    node.memory_kib = n->attr ? n->attr->numanode.local_memory / 1024 : 0;
    node.cpus = ToCpuSet(n->cpuset) & cpu.online;
    view.numa_nodes.push_back(std::move(node));
  }
  std::sort(view.numa_nodes.begin(), view.numa_nodes.end(),
            [](const HwlocNumaNode& a, const HwlocNumaNode& b) { return a.id < b.id; });
  return view;
}

}  // namespace kvhost
