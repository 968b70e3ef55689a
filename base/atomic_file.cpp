#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "base/unique_fd.h"

namespace kvhost {
namespace {

[[noreturn]] void Fail(const std::string& what, const std::filesystem::path& path, int error) {
  throw FileWriteError("cannot " + what + " " + path.string() + ": " +
                       std::error_code(error, std::generic_category()).message());
}

void WriteAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t written = write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      Fail("write", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

}  // namespace

void WriteFileAtomically(const std::filesystem::path& target, std::string_view bytes,
                         const std::string& temp_name, mode_t mode) {
  std::filesystem::path directory = target.parent_path();
  if (directory.empty()) directory = ".";
  const std::filesystem::path temp = directory / temp_name;
  // A temp file left by a crash is ours to replace.
  unlink(temp.c_str());
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) Fail("create", temp, errno);
  try {
    WriteAll(fd.get(), bytes, temp);
    if (fchmod(fd.get(), mode) < 0) Fail("chmod", temp, errno);  // umask must not narrow it
    if (fsync(fd.get()) < 0) Fail("fsync", temp, errno);
    if (fd.Close() < 0) Fail("close", temp, errno);
    if (rename(temp.c_str(), target.c_str()) < 0)
      Fail("rename onto " + target.string(), temp, errno);
  } catch (...) {
    unlink(temp.c_str());
    throw;
  }
  UniqueFd dir(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) Fail("open directory", directory, errno);
  if (fsync(dir.get()) < 0) Fail("fsync directory", directory, errno);
}

}  // namespace kvhost
