// A private directory under $TMPDIR (else /tmp), made with mkdtemp and removed
// with everything in it when it goes out of scope, so an exception or an early
// return leaves nothing behind (oslat's JSON, a bench's unpacked fixtures, a
// test's scratch root).
#pragma once

#include <filesystem>
#include <string_view>

namespace kvhost {

class TempDir {
 public:
  // "<tmp>/<prefix>XXXXXX"; throws std::system_error naming the pattern.
  explicit TempDir(std::string_view prefix = "kvhost-");
  ~TempDir();  // a leftover directory is only untidy: removal errors are ignored
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kvhost
