#include "agent/pinning/qemu_threads.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace kvhost {
namespace {

std::string TaskDir(int pid, int tid) {
  return "proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
}

// A per-thread file, or nullopt when the thread is gone. A thread that exits
// after its file was opened makes read() fail with ESRCH, which SysfsRoot
// reports as an InputError; by then the task directory has been unhashed too,
// so "directory gone" tells a vanished thread from a real read problem.
std::optional<std::string> ReadThreadFile(const SysfsRoot& root, const std::string& task_dir,
                                          std::string_view file) {
  const std::string relative = task_dir + "/" + std::string(file);
  try {
    return root.ReadOptional(relative);
  } catch (const InputError&) {
    if (!root.Exists(task_dir)) return std::nullopt;
    throw;
  }
}

CpuSet CpusAllowedFromStatus(const SysfsRoot& root, const std::string& relative,
                             std::string_view status) {
  constexpr std::string_view kKey = "Cpus_allowed_list:";
  size_t at = 0;
  while (at < status.size()) {
    size_t end = status.find('\n', at);
    if (end == std::string_view::npos) end = status.size();
    std::string_view line = status.substr(at, end - at);
    if (line.substr(0, kKey.size()) == kKey) {
      std::string_view value = line.substr(kKey.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      try {
        return ParseCpuList(value);
      } catch (const FormatError& e) {
        throw InputError(root.PathOf(relative), std::string("Cpus_allowed_list: ") + e.what());
      }
    }
    at = end + 1;
  }
  throw InputError(root.PathOf(relative), "no Cpus_allowed_list line");
}

// stat fields 40 (rt_priority) and 41 (policy), as documented in proc(5).
// Why stat and not task/<tid>/sched: stat is a stable ABI present on every
// kernel, while sched exists only with CONFIG_SCHED_DEBUG (off in several
// distribution kernels), is debug output whose layout has changed between
// versions, and reports the kernel-internal "prio" (99 - rt_priority for RT
// tasks) rather than the priority sched_setscheduler() was given.
struct StatScheduling {
  int policy = 0;
  int rt_priority = 0;
};

StatScheduling SchedulingFromStat(const SysfsRoot& root, const std::string& relative,
                                  std::string_view stat) {
  // Field 2 is "(comm)" and comm may hold spaces and ')' ("CPU 3/KVM" has a
  // space): every field after it is counted from the last ')'.
  const size_t close = stat.rfind(')');
  if (stat.find('(') == std::string_view::npos || close == std::string_view::npos)
    throw InputError(root.PathOf(relative), "no '(comm)' field");
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find(' '), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  constexpr size_t kRtPriorityField = 40, kPolicyField = 41, kFirstField = 3;
  if (fields.size() <= kPolicyField - kFirstField)
    throw InputError(root.PathOf(relative), "has " + std::to_string(fields.size() + 2) +
                                                " fields, needs at least " +
                                                std::to_string(kPolicyField));
  auto number = [&](size_t field, const char* what) {
    const std::string_view text = fields[field - kFirstField];
    auto value = ParseInt(text);
    if (!value || *value < 0 || *value > 1000)
      throw InputError(root.PathOf(relative), std::string("field ") + std::to_string(field) + " (" +
                                                  what + ") '" + std::string(text) +
                                                  "' is not a small non-negative integer");
    return static_cast<int>(*value);
  };
  return {number(kPolicyField, "policy"), number(kRtPriorityField, "rt_priority")};
}

}  // namespace

std::optional<int> QemuPid(const SysfsRoot& root, const std::string& domain_name) {
  if (domain_name.empty() || domain_name == "." || domain_name == ".." ||
      domain_name.find('/') != std::string::npos)
    throw std::invalid_argument("'" + domain_name + "' cannot be a libvirt domain name");
  const std::string relative = "var/run/libvirt/qemu/" + domain_name + ".pid";
  auto text = root.ReadOptional(relative);
  if (!text) return std::nullopt;
  auto pid = ParseInt(*text);
  // pid_max is at most 2^22 (PID_MAX_LIMIT); anything beyond is not a pid.
  if (!pid || *pid <= 0 || *pid > (1 << 22))
    throw InputError(root.PathOf(relative), "'" + text->substr(0, 40) + "' is not a process id");
  return static_cast<int>(*pid);
}

std::optional<QemuThread> ReadQemuThread(const SysfsRoot& root, int pid, int tid) {
  const std::string task_dir = TaskDir(pid, tid);
  auto comm = ReadThreadFile(root, task_dir, "comm");
  if (!comm) return std::nullopt;
  auto status = ReadThreadFile(root, task_dir, "status");
  if (!status) return std::nullopt;
  auto stat = ReadThreadFile(root, task_dir, "stat");
  if (!stat) return std::nullopt;

  QemuThread thread;
  thread.tid = tid;
  thread.name = std::move(*comm);
  thread.cpus_allowed = CpusAllowedFromStatus(root, task_dir + "/status", *status);
  const StatScheduling scheduling = SchedulingFromStat(root, task_dir + "/stat", *stat);
  thread.policy = scheduling.policy;
  thread.rt_priority = scheduling.rt_priority;
  return thread;
}

std::vector<QemuThread> ReadQemuThreads(const SysfsRoot& root, int pid) {
  std::vector<QemuThread> threads;
  // ListNumbered skips "." and ".." and returns nothing for a missing directory.
  for (unsigned tid : root.ListNumbered("proc/" + std::to_string(pid) + "/task", "")) {
    if (auto thread = ReadQemuThread(root, pid, static_cast<int>(tid)))
      threads.push_back(std::move(*thread));
  }
  return threads;
}

std::optional<unsigned> VcpuIndexOfThread(const std::string& comm) {
  constexpr std::string_view kPrefix = "CPU ";
  constexpr size_t kSuffixSize = 4;  // "/KVM" or "/TCG"
  std::string_view name = comm;
  if (name.size() <= kPrefix.size() + kSuffixSize || name.substr(0, kPrefix.size()) != kPrefix)
    return std::nullopt;
  const std::string_view suffix = name.substr(name.size() - kSuffixSize);
  if (suffix != "/KVM" && suffix != "/TCG") return std::nullopt;
  const std::string_view digits =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffixSize);
  // QEMU prints the index with %d: digits only, no sign, no leading zeros.
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  unsigned index = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

std::string SchedulingPolicyName(int policy) {
  switch (policy) {
    case SCHED_OTHER:
      return "SCHED_OTHER";
    case SCHED_FIFO:
      return "SCHED_FIFO";
    case SCHED_RR:
      return "SCHED_RR";
    case SCHED_BATCH:
      return "SCHED_BATCH";
    case SCHED_IDLE:
      return "SCHED_IDLE";
    case SCHED_DEADLINE:
      return "SCHED_DEADLINE";
    default:
      return "policy " + std::to_string(policy);
  }
}

}  // namespace kvhost
