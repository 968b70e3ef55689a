// Reads input files whose type nobody vouches for. A FIFO, socket or device in
// place of an input (a hostile or broken dump, `--catalog /dev/zero`) must give
// an error at once, never block in open()/read() or read without end. Kernel
// pseudo-files in sysfs and procfs are regular files, so they pass.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace kvhost {

// The reason only ("is a FIFO, not a regular file"); the caller adds the path.
class FileReadError : public std::runtime_error {
 public:
  FileReadError(std::string reason, bool too_large)
      : std::runtime_error(std::move(reason)), too_large_(too_large) {}
  // The file is larger than the caller's limit: the caller says why that is wrong.
  bool too_large() const { return too_large_; }

 private:
  bool too_large_;
};

// Opens `path` (relative to dir_fd, or AT_FDCWD) with O_NONBLOCK, so opening a
// FIFO cannot wait for a writer, and reads it whole. nullopt when it does not
// exist (ENOENT, ENOTDIR). Throws FileReadError when it is not a regular file,
// cannot be opened or read, or holds more than max_bytes.
std::optional<std::string> ReadRegularFile(int dir_fd, const char* path, size_t max_bytes);

// "a FIFO", "a character device"... for messages.
std::string FileTypeName(mode_t mode);

// Walks the tree at `dir` (relative to dir_fd) and returns the first entry that a
// reader would block on or never finish: a FIFO, socket or device, or a symlink
// to one, or a symlink loop. "<relative path>: <reason>", or nullopt when every
// entry is a regular file, a directory, or a symlink to one of those or to
// nothing. Symlinks to directories are not followed (sysfs links back into the
// tree, and a loop must not make the walk endless). A missing dir is fine.
std::optional<std::string> FindUnreadableEntry(int dir_fd, const std::string& dir);

}  // namespace kvhost
