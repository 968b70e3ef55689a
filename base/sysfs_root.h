// Reads kernel text files (sysfs, procfs) under a filesystem root, so real
// machines can be replayed from dumps. Every error names the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/cpu_set.h"
#include "base/errors.h"
#include "base/unique_fd.h"

namespace kvhost {

class SysfsRoot {
 public:
  // How files under the root are opened.
  enum class Access {
    // The root opened once (two system calls); each read then walks only the
    // relative name. For discovery's hundreds of reads.
    kOpenRoot,
    // Full paths, nothing opened up front, each file read through
    // ReadKeptFile (base/kept_file.h): for the few regular files every
    // refresh rereads (kubelet's checkpoints) on a root discovery already
    // read, where opening the root would double the system calls. Never for
    // kernel files, whose stamps do not follow their content.
    kKeptFiles,
  };

  // Throws InputError when root is not a directory (kOpenRoot only: with
  // full paths a root that is no directory reads as every file absent).
  explicit SysfsRoot(std::filesystem::path root = "/", Access access = Access::kOpenRoot);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path PathOf(std::string_view relative) const;
  // PathOf(relative).string(), cheaper: for paths built on every refresh.
  std::string PathText(std::string_view relative) const;

  // The file's text without trailing NULs and white space (old kernels end some
  // sysfs files in "\n\0"). nullopt when the file does not exist; InputError
  // when it exists but cannot be read, is not a regular file (a FIFO would block
  // the read forever) or is larger than 16 MiB.
  std::optional<std::string> ReadOptional(std::string_view relative) const;
  std::string Read(std::string_view relative) const;

  bool Exists(std::string_view relative) const;

  // The file parsed by `parse` (any text parser that throws FormatError);
  // nullopt when it does not exist. A parse failure becomes an InputError
  // naming the file, so no reader has to add the name itself.
  template <typename Parse>
  auto ParseOptional(std::string_view relative, const Parse& parse) const
      -> std::optional<decltype(parse(std::string_view{}))> {
    const std::optional<std::string> text = ReadOptional(relative);
    if (!text) return std::nullopt;
    try {
      return parse(std::string_view(*text));
    } catch (const FormatError& e) {
      throw InputError(PathOf(relative), e.what());
    }
  }

  // Throws InputError naming the entry when the file or tree at `relative` holds
  // something a reader would block on or never finish (a FIFO, socket, device,
  // a symlink to one, a symlink loop). For trees read by code we do not own
  // (hwloc), which opens files without O_NONBLOCK and never checks their type.
  void RefuseUnreadableEntries(std::string_view relative) const;

  // Numbers and CPU sets; a malformed file is an InputError naming it.
  std::optional<int64_t> ReadIntOptional(std::string_view relative) const;
  std::optional<uint64_t> ReadCountOptional(std::string_view relative) const;  // >= 0
  std::optional<CpuSet> ReadCpuListOptional(std::string_view relative) const;
  std::optional<CpuSet> ReadCpuMaskOptional(std::string_view relative) const;
  // "<name>list" if present, else the "<name>map"/mask variant: old kernels only have masks.
  std::optional<CpuSet> ReadCpuListOrMask(std::string_view list_file,
                                          std::string_view mask_file) const;

  // Numeric suffixes of entries "<prefix>N" in a directory, sorted ("node0", "node1"...).
  std::vector<unsigned> ListNumbered(std::string_view dir, std::string_view prefix) const;
  // Names of entries starting with prefix, sorted.
  std::vector<std::string> ListNames(std::string_view dir, std::string_view prefix) const;

 private:
  // openat()-style arguments for a file under the root (see root_fd_).
  int AtFd() const;
  std::string AtPath(std::string_view relative) const;

  std::filesystem::path root_;
  // The root opened once (O_PATH): every read then passes just the relative
  // name to openat(), so no std::filesystem::path is built on the hot path
  // (only for error messages) and the root's own components are not walked
  // again; that was a visible share of discovery's cost. Shared so the class
  // stays copyable; null if the open failed, and then we use full paths.
  std::shared_ptr<const UniqueFd> root_fd_;
  bool kept_files_ = false;  // Access::kKeptFiles
};

// Parses a signed decimal integer that fills the whole text.
std::optional<int64_t> ParseInt(std::string_view text);

}  // namespace kvhost
