// Replaces a file so a reader sees the old content or the new, never a mix:
// write a temp file in the same directory, fsync it, rename it over the target,
// fsync the directory (the rename is durable only once the entry is on disk).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace kvhost {

class FileWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `temp_name` is a name in the target's directory (e.g. a dot-file that
// readers of the directory skip). Throws FileWriteError naming the path and errno text.
void WriteFileAtomically(const std::filesystem::path& target, std::string_view bytes,
                         const std::string& temp_name, mode_t mode = 0644);

}  // namespace kvhost
