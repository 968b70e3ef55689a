#include "base/regular_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace kvhost {
namespace {

// Deeper than any sysfs tree hwloc reads; a deeper one is built to exhaust us.
constexpr int kMaxWalkDepth = 32;

std::string ErrnoText(int error) { return std::strerror(error); }

bool IsBlockingType(mode_t mode) { return !S_ISREG(mode) && !S_ISDIR(mode) && !S_ISLNK(mode); }

// The reason a stat'ed entry (symlinks followed) cannot be read, or "" when it can.
std::string ProblemOfTarget(int dir_fd, const char* name) {
  struct stat target {};
  if (::fstatat(dir_fd, name, &target, 0) == 0)
    return IsBlockingType(target.st_mode)
               ? "is " + FileTypeName(target.st_mode) + ", not a regular file"
               : "";
  if (errno == ELOOP) return "is a symlink loop (" + ErrnoText(ELOOP) + ")";
  return "";  // dangling: a reader gets ENOENT, which it handles
}

class TreeWalker {
 public:
  std::optional<std::string> Walk(int dir_fd, const std::string& path, int depth) {
    if (depth > kMaxWalkDepth)
      return path + ": nested deeper than " + std::to_string(kMaxWalkDepth) + " directories";
    UniqueFd fd(::openat(dir_fd, path.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return std::nullopt;  // vanished or unreadable: its reader reports that
    alignas(8) char buf[32768];
    for (;;) {
      const ssize_t n = ::getdents64(fd.get(), buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      for (size_t off = 0; off < static_cast<size_t>(n);) {
        unsigned short reclen = 0;
        unsigned char type = DT_UNKNOWN;
        std::memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen), sizeof reclen);
        std::memcpy(&type, buf + off + offsetof(struct dirent64, d_type), sizeof type);
        const std::string name = buf + off + offsetof(struct dirent64, d_name);
        if (reclen == 0) return std::nullopt;
        off += reclen;
        if (name == "." || name == "..") continue;
        if (auto problem = Check(fd.get(), path, name, type, depth)) return problem;
      }
    }
  }

 private:
  std::optional<std::string> Check(int dir_fd, const std::string& path, const std::string& name,
                                   unsigned char type, int depth) {
    if (type == DT_UNKNOWN) {  // file systems without d_type: ask
      struct stat entry {};
      if (::fstatat(dir_fd, name.c_str(), &entry, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
      type = IFTODT(entry.st_mode);
    }
    const std::string child = path + "/" + name;
    if (type == DT_DIR) {
      auto problem = Walk(dir_fd, name, depth + 1);
      if (problem) return path + "/" + *problem;
      return std::nullopt;
    }
    if (type == DT_LNK) {
      const std::string problem = ProblemOfTarget(dir_fd, name.c_str());
      if (problem.empty()) return std::nullopt;
      return child + ": " + problem;
    }
    if (type == DT_REG) return std::nullopt;
    struct stat entry {};
    if (::fstatat(dir_fd, name.c_str(), &entry, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
    return child + ": is " + FileTypeName(entry.st_mode) + ", not a regular file";
  }
};

}  // namespace

std::string FileTypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISREG(mode)) return "a regular file";
  return "an unknown kind of file";
}

std::optional<std::string> ReadRegularFile(int dir_fd, const char* path, size_t max_bytes) {
  UniqueFd fd(::openat(dir_fd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) return std::nullopt;
    if (error == ELOOP) throw FileReadError("is a symlink loop (" + ErrnoText(error) + ")", false);
    throw FileReadError("cannot open: " + ErrnoText(error), false);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw FileReadError("cannot stat: " + ErrnoText(errno), false);
  if (!S_ISREG(st.st_mode))
    throw FileReadError("is " + FileTypeName(st.st_mode) + ", not a regular file", false);
  // sysfs reports 4096 and procfs 0 whatever the content: only the read itself can be trusted.
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    throw FileReadError("is " + std::to_string(st.st_size) + " bytes", true);
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileReadError("cannot read: " + ErrnoText(errno), false);
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes)
      throw FileReadError("holds more than " + std::to_string(max_bytes) + " bytes", true);
    // A file on disk (a config, a checkpoint) read to the size fstat gave is
    // whole as of that fstat: the read that would return 0 is one system call
    // of four saved. Kernel files report a size their text does not have
    // (sysfs 4096, procfs 0), so they are read until the kernel says the end.
    if (st.st_size > 0 && text.size() == static_cast<uint64_t>(st.st_size)) return text;
  }
}

std::optional<std::string> FindUnreadableEntry(int dir_fd, const std::string& dir) {
  struct stat top {};
  if (::fstatat(dir_fd, dir.c_str(), &top, 0) != 0) {
    if (errno == ELOOP) return dir + ": is a symlink loop (" + ErrnoText(ELOOP) + ")";
    return std::nullopt;
  }
  if (S_ISREG(top.st_mode)) return std::nullopt;
  if (!S_ISDIR(top.st_mode))
    return dir + ": is " + FileTypeName(top.st_mode) + ", not a regular file";
  // The top directory may be a symlink (sys/class/dmi/id is): open it following links.
  UniqueFd fd(::openat(dir_fd, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  auto problem = TreeWalker().Walk(fd.get(), ".", 0);
  if (problem) return dir + problem->substr(1);  // "./x: ..." -> "<dir>/x: ..."
  return std::nullopt;
}

}  // namespace kvhost
