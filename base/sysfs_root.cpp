#include "base/sysfs_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <memory>

#include "base/kept_file.h"
#include "base/regular_file.h"
#include "base/unique_fd.h"

namespace kvhost {
namespace {

// Kernel text files are at most a few pages; a bigger "kernel file" is a dump gone wrong.
constexpr size_t kMaxKernelFileBytes = 16u << 20;

std::string StripTail(std::string s) {
  while (!s.empty() && (s.back() == '\0' || s.back() == '\n' || s.back() == ' ' ||
                        s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  return s;
}

}  // namespace

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

SysfsRoot::SysfsRoot(std::filesystem::path root, Access access)
    : root_(std::move(root)), kept_files_(access == Access::kKeptFiles) {
  if (access != Access::kOpenRoot) return;
  // O_DIRECTORY follows symlinks as is_directory() does, so a successful open
  // is that check passing; only a failure needs the stat for its message.
  // The holder is allocated before the open, so a throwing allocation cannot leak the fd.
  auto fd = std::make_shared<UniqueFd>();
  *fd = UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (fd->valid()) {
    root_fd_ = std::move(fd);
    return;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec))
    throw InputError(root_, "root is not a directory" + (ec ? " (" + ec.message() + ")" : ""));
}

std::filesystem::path SysfsRoot::PathOf(std::string_view relative) const {
  return root_ / relative;
}

int SysfsRoot::AtFd() const { return root_fd_ ? root_fd_->get() : AT_FDCWD; }

std::string SysfsRoot::AtPath(std::string_view relative) const {
  // "." keeps root_ / "" (the root itself) meaning the same through the fd.
  if (root_fd_) return relative.empty() ? std::string(".") : std::string(relative);
  return PathText(relative);
}

std::string SysfsRoot::PathText(std::string_view relative) const {
  // PathOf's text without a std::filesystem::path, which splits itself into
  // components (allocations) on every construction.
  const std::string& root = root_.native();
  std::string text;
  text.reserve(root.size() + 1 + relative.size());
  text = root;
  if (!text.empty() && text.back() != '/') text += '/';
  text += relative;
  return text;
}

bool SysfsRoot::Exists(std::string_view relative) const {
  return ::faccessat(AtFd(), AtPath(relative).c_str(), F_OK, 0) == 0;
}

std::optional<std::string> SysfsRoot::ReadOptional(std::string_view relative) const {
  // The full path is built only for error messages: most reads never need it.
  try {
    auto text = kept_files_
                    ? ReadKeptFile(AtPath(relative), kMaxKernelFileBytes)
                    : ReadRegularFile(AtFd(), AtPath(relative).c_str(), kMaxKernelFileBytes);
    if (!text) return std::nullopt;
    return StripTail(std::move(*text));
  } catch (const FileReadError& e) {
    throw InputError(PathOf(relative), e.too_large() ? std::string(e.what()) +
                                                           ": larger than 16 MiB, not a kernel file"
                                                     : e.what());
  }
}

void SysfsRoot::RefuseUnreadableEntries(std::string_view relative) const {
  if (auto problem = FindUnreadableEntry(AtFd(), AtPath(relative))) {
    // The problem starts with the path as given; name the file in full.
    const size_t colon = problem->find(": ");
    const std::string where = problem->substr(0, colon);
    throw InputError(root_fd_ ? PathOf(where) : std::filesystem::path(where),
                     problem->substr(colon + 2));
  }
}

std::string SysfsRoot::Read(std::string_view relative) const {
  auto text = ReadOptional(relative);
  if (!text) throw InputError(PathOf(relative), "missing");
  return *text;
}

std::optional<int64_t> SysfsRoot::ReadIntOptional(std::string_view relative) const {
  auto text = ReadOptional(relative);
  if (!text) return std::nullopt;
  auto v = ParseInt(*text);
  if (!v) throw InputError(PathOf(relative), "'" + text->substr(0, 40) + "' is not an integer");
  return v;
}

std::optional<uint64_t> SysfsRoot::ReadCountOptional(std::string_view relative) const {
  auto v = ReadIntOptional(relative);
  if (!v) return std::nullopt;
  if (*v < 0) throw InputError(PathOf(relative), "negative count " + std::to_string(*v));
  return static_cast<uint64_t>(*v);
}

std::optional<CpuSet> SysfsRoot::ReadCpuListOptional(std::string_view relative) const {
  return ParseOptional(relative, [](std::string_view text) { return ParseCpuList(text); });
}

std::optional<CpuSet> SysfsRoot::ReadCpuMaskOptional(std::string_view relative) const {
  return ParseOptional(relative, [](std::string_view text) { return ParseCpuMask(text); });
}

std::optional<CpuSet> SysfsRoot::ReadCpuListOrMask(std::string_view list_file,
                                                   std::string_view mask_file) const {
  if (auto list = ReadCpuListOptional(list_file)) return list;
  return ReadCpuMaskOptional(mask_file);
}

std::vector<std::string> SysfsRoot::ListNames(std::string_view dir, std::string_view prefix) const {
  std::vector<std::string> names;
  // getdents64() on our own fd rather than opendir()/readdir(): opendir adds
  // an fstat() per directory, and syscalls are most of discovery's cost.
  int raw = ::openat(AtFd(), AtPath(dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) return names;
  UniqueFd fd(raw);
  alignas(8) char buf[32768];  // opendir's buffer size: one call lists a 256-CPU dir
  for (;;) {
    const ssize_t n = ::getdents64(raw, buf, sizeof buf);
    if (n <= 0) break;  // like readdir(): an error ends the listing
    for (size_t off = 0; off < static_cast<size_t>(n);) {
      // Fields copied out rather than cast to dirent64*: the buffer is chars.
      unsigned short reclen = 0;
      ino64_t ino = 0;
      std::memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen), sizeof reclen);
      std::memcpy(&ino, buf + off + offsetof(struct dirent64, d_ino), sizeof ino);
      std::string_view name = buf + off + offsetof(struct dirent64, d_name);
      // readdir() skips entries with inode 0 (deleted); so do we.
      if (ino != 0 && name.substr(0, prefix.size()) == prefix) names.emplace_back(name);
      if (reclen == 0) break;  // cannot happen; never spin on a corrupt record
      off += reclen;
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<unsigned> SysfsRoot::ListNumbered(std::string_view dir, std::string_view prefix) const {
  std::vector<unsigned> ids;
  for (const auto& name : ListNames(dir, prefix)) {
    std::string_view digits = std::string_view(name).substr(prefix.size());
    unsigned v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (!digits.empty() && ec == std::errc() && p == digits.data() + digits.size())
      ids.push_back(v);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace kvhost
