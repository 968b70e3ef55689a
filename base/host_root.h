// The filesystem root a host is read from, and whether it is this machine's
// own. Only the real host's processes are tuned through /proc, its IRQs
// steered and its libvirt asked; a replayed dump is only ever read.
#pragma once

#include <filesystem>

#include "base/sysfs_root.h"

namespace kvhost {

// The one rule: `root` is the real host when it resolves to "/" (as "/" or a
// symlink to it does). A path that cannot be resolved (missing, unreadable)
// is not: nothing on this machine is touched on a guess.
bool IsRealHostRoot(const std::filesystem::path& root);

class HostRoot {
 public:
  // No root: not the real host (a model built by hand in a test).
  HostRoot() = default;
  // Asks IsRealHostRoot once, here: a model discovered from `path` keeps the answer.
  explicit HostRoot(std::filesystem::path path);

  const std::filesystem::path& path() const { return path_; }
  bool IsRealHost() const { return real_host_; }

  // A reader of files under the root (see SysfsRoot::Access for which mode).
  // Throws InputError as SysfsRoot's constructor does.
  SysfsRoot Sysfs(SysfsRoot::Access access = SysfsRoot::Access::kOpenRoot) const {
    return SysfsRoot(path_, access);
  }

 private:
  std::filesystem::path path_;
  bool real_host_ = false;
};

}  // namespace kvhost
