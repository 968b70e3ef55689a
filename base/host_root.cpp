#include "base/host_root.h"

#include <system_error>
#include <utility>

namespace kvhost {

bool IsRealHostRoot(const std::filesystem::path& root) {
  std::error_code ec;
  return std::filesystem::equivalent(root, "/", ec);
}

HostRoot::HostRoot(std::filesystem::path path)
    : path_(std::move(path)), real_host_(IsRealHostRoot(path_)) {}

}  // namespace kvhost
