// Helpers for the QEMU thread, realtime and IRQ tests: a scratch directory for
// fake procfs trees, and a named idle thread of this test process standing in
// for a QEMU thread on the real /proc.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "base/temp_dir.h"

namespace kvhost::testing {

// A fresh directory under /tmp, removed with its contents when destroyed.
class ScratchDir : public TempDir {
 public:
  ScratchDir() : TempDir("kvhost-pinning-") {}

  // Writes `text` to root/relative, creating the directories on the way.
  void Write(const std::string& relative, const std::string& text) const {
    const std::filesystem::path file = path() / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
  }

  std::string Read(const std::string& relative) const {
    std::ifstream in(path() / relative, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
};

// A thread of this process that only waits, named (pthread_setname_np) and
// optionally pinned (pthread_setaffinity_np) by its creator, as libvirt and
// QEMU do to real vCPU threads. Destroying it wakes and joins it, so a failed
// assertion never leaves it behind.
class NamedIdleThread {
 public:
  explicit NamedIdleThread(const std::string& name, std::optional<unsigned> cpu = std::nullopt) {
    std::promise<int> tid_promise;
    std::future<int> tid_future = tid_promise.get_future();
    std::shared_future<void> stop = stop_.get_future().share();
    // The promise moves into the thread, so it outlives its own set_value().
    thread_ = std::thread([tid_promise = std::move(tid_promise), stop]() mutable {
      tid_promise.set_value(static_cast<int>(::gettid()));
      stop.wait();
    });
    tid_ = tid_future.get();
    try {
      Check(pthread_setname_np(thread_.native_handle(), name.c_str()), "name thread " + name);
      if (cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(*cpu, &set);
        Check(pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set),
              "pin thread " + name);
      }
    } catch (...) {
      Stop();
      throw;
    }
  }
  ~NamedIdleThread() { Stop(); }
  NamedIdleThread(const NamedIdleThread&) = delete;
  NamedIdleThread& operator=(const NamedIdleThread&) = delete;

  int tid() const { return tid_; }

 private:
  static void Check(int error, const std::string& what) {
    if (error != 0) throw std::system_error(error, std::generic_category(), what);
  }
  void Stop() {
    if (!thread_.joinable()) return;
    stop_.set_value();
    thread_.join();
  }

  std::promise<void> stop_;
  std::thread thread_;
  int tid_ = 0;
};

}  // namespace kvhost::testing
