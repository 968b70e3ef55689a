// The QEMU process behind a libvirt domain, seen through procfs: its pid (from
// libvirt's pid file) and its threads with their names, allowed CPUs and
// scheduling. This is what the pinning service checks libvirt's pinning
// against, and where realtime vCPU threads are found. Reads go through a
// SysfsRoot, so a dumped /proc can be replayed like the sysfs fixtures.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/cpu_set.h"
#include "base/sysfs_root.h"

namespace kvhost {

// The pid libvirt recorded for a running domain, from
// var/run/libvirt/qemu/<name>.pid. nullopt when the file is absent (the
// domain is not running under this libvirtd); InputError naming the file when
// it does not hold a positive integer. Throws std::invalid_argument for a name
// libvirt could not have given a domain (empty, ".", "..", or with a '/'),
// which would otherwise read a file outside the pid directory.
std::optional<int> QemuPid(const SysfsRoot& root, const std::string& domain_name);

struct QemuThread {
  int tid = 0;
  std::string name;     // comm: "CPU 3/KVM", "qemu-system-x86", "IO iothread1"...
  CpuSet cpus_allowed;  // status: Cpus_allowed_list
  int policy = 0;       // SCHED_OTHER, SCHED_FIFO... (stat field 41)
  int rt_priority = 0;  // 1..99 for SCHED_FIFO/SCHED_RR, else 0 (stat field 40)
};

// Every thread of `pid`, ordered by tid, from proc/<pid>/task/<tid>/{comm,
// status,stat}. Threads come and go while QEMU runs (vCPU hotplug, I/O
// workers): a thread that vanishes between listing and reading is skipped,
// never an error, and a pid that is gone yields no threads. Malformed content
// of a thread that still exists is an InputError naming the file.
std::vector<QemuThread> ReadQemuThreads(const SysfsRoot& root, int pid);

// One thread of `pid`; nullopt when it does not exist (any more).
std::optional<QemuThread> ReadQemuThread(const SysfsRoot& root, int pid, int tid);

// The vCPU index of a vCPU thread name: QEMU names them "CPU <n>/KVM" under
// KVM (kvm_start_vcpu_thread) and "CPU <n>/TCG" under multi-threaded TCG
// (rr_start_vcpu_thread's single "ALL CPUs/TCG" runs every vCPU, so it has no
// index). nullopt for every other name. Pinning is verified on both; only KVM
// threads are made realtime (SetVcpuThreadsFifo).
std::optional<unsigned> VcpuIndexOfThread(const std::string& comm);

// "SCHED_FIFO" for 1, ... ; "policy <n>" for a number the kernel may add later.
std::string SchedulingPolicyName(int policy);

}  // namespace kvhost
