// What the kernel says about a running QEMU: its PID (from the file libvirt's
// QEMU driver writes) and, per thread, its name and the CPUs it may run on.
// This is the ground truth the real-libvirtd tests check pinning against,
// independently of what libvirt reports back.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kvhost::testing {

struct QemuThread {
  pid_t tid = 0;
  std::string comm;               // "CPU 0/KVM" for vCPU 0, "qemu-system-x86" for the main thread
  std::string cpus_allowed_list;  // Cpus_allowed_list of /proc/<pid>/task/<tid>/status
};

// The PID the QEMU driver of a privileged libvirtd (qemu:///system) wrote for
// a running domain, or nothing when the domain is not running.
inline std::optional<pid_t> ReadQemuPid(const std::string& domain_name,
                                        const std::string& run_dir = "/var/run/libvirt/qemu") {
  std::ifstream file(run_dir + "/" + domain_name + ".pid");
  long pid = 0;
  if (!(file >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

namespace detail {

inline std::string ReadTrimmed(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\0')) {
    text.pop_back();
  }
  return text;
}

// The value of "Key:\tvalue" in a /proc status file; empty when absent.
inline std::string StatusField(const std::filesystem::path& status, const std::string& key) {
  std::ifstream file(status);
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::string value = line.substr(key.size() + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
  }
  return "";
}

}  // namespace detail

// Every thread of process pid, by thread id. Threads that end while being read
// are left out. Throws std::runtime_error when the process itself is gone.
inline std::vector<QemuThread> ReadThreads(pid_t pid) {
  std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  std::filesystem::directory_iterator it(tasks, error);
  if (error) throw std::runtime_error("cannot list " + tasks.string() + ": " + error.message());
  std::vector<QemuThread> threads;
  for (const auto& entry : it) {
    QemuThread thread;
    thread.tid = static_cast<pid_t>(std::stol(entry.path().filename().string()));
    thread.comm = detail::ReadTrimmed(entry.path() / "comm");
    thread.cpus_allowed_list = detail::StatusField(entry.path() / "status", "Cpus_allowed_list");
    if (thread.comm.empty() || thread.cpus_allowed_list.empty()) continue;  // ended meanwhile
    threads.push_back(std::move(thread));
  }
  std::sort(threads.begin(), threads.end(),
            [](const QemuThread& a, const QemuThread& b) { return a.tid < b.tid; });
  return threads;
}

// The thread whose name is comm ("CPU 1/KVM"), if any.
inline std::optional<QemuThread> FindThread(const std::vector<QemuThread>& threads,
                                            const std::string& comm) {
  auto it = std::find_if(threads.begin(), threads.end(),
                         [&](const QemuThread& t) { return t.comm == comm; });
  if (it == threads.end()) return std::nullopt;
  return *it;
}

// QEMU names vCPU threads "CPU <n>/KVM" (KVM accelerator) or "CPU <n>/TCG".
inline bool IsVcpuThread(const QemuThread& thread) { return thread.comm.rfind("CPU ", 0) == 0; }

// True while pid is a live process: not gone, and not a zombie waiting for
// its parent (a destroyed QEMU may linger as one until reaped).
inline bool ProcessRuns(pid_t pid) {
  std::string stat = detail::ReadTrimmed("/proc/" + std::to_string(pid) + "/stat");
  size_t end = stat.rfind(')');  // the name in parentheses may itself hold ") "
  if (end == std::string::npos || end + 2 >= stat.size()) return false;
  char state = stat[end + 2];
  return state != 'Z' && state != 'X';
}

// "tid 1234 'CPU 0/KVM' on 1" lines, for failure messages.
inline std::string DescribeThreads(const std::vector<QemuThread>& threads) {
  std::ostringstream out;
  for (const QemuThread& t : threads) {
    out << "tid " << t.tid << " '" << t.comm << "' on " << t.cpus_allowed_list << "\n";
  }
  return out.str();
}

}  // namespace kvhost::testing
