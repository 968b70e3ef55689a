#include "agent/daemon/startup_pages.h"

#include <malloc.h>
#include <sys/mman.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace kvhost {
namespace {

struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  bool releasable = false;  // read-only, private, backed by a regular file
  uint64_t rss_kib = 0;
  // Unknown until smaps says: a mapping without the field is never released.
  std::optional<uint64_t> anonymous_kib;
};

// "start-end perms offset dev inode [path]", as proc(5) documents a maps line.
bool ParseHeader(const std::string& line, Mapping& mapping) {
  std::istringstream fields(line);
  std::string range, perms, offset, device, inode, path;
  if (!(fields >> range >> perms >> offset >> device >> inode)) return false;
  std::getline(fields >> std::ws, path);
  const char* first = range.data();
  const char* last = first + range.size();
  const auto start = std::from_chars(first, last, mapping.start, 16);
  if (start.ec != std::errc() || start.ptr == last || *start.ptr != '-' || perms.size() != 4)
    return false;
  const auto end = std::from_chars(start.ptr + 1, last, mapping.end, 16);
  if (end.ec != std::errc() || end.ptr != last || mapping.end <= mapping.start) return false;
  // Device files (and [vdso]-like pseudo mappings) are not page-cache backed.
  mapping.releasable =
      perms[1] != 'w' && perms[3] == 'p' && path.starts_with('/') && !path.starts_with("/dev/");
  return true;
}

// "Rss:                 123 kB": 0 when the number is not there.
uint64_t FieldKib(const std::string& line, std::string_view name) {
  const auto digits = line.find_first_not_of(' ', name.size());
  uint64_t kib = 0;
  if (digits != std::string::npos)
    std::from_chars(line.data() + digits, line.data() + line.size(), kib);
  return kib;
}

std::vector<Mapping> ReadOwnMappings() {
  std::vector<Mapping> mappings;
  std::ifstream smaps("/proc/self/smaps");
  for (std::string line; std::getline(smaps, line);) {
    Mapping next;
    if (ParseHeader(line, next)) {
      mappings.push_back(next);
    } else if (mappings.empty()) {
      continue;
    } else if (line.starts_with("Rss:")) {
      mappings.back().rss_kib = FieldKib(line, "Rss:");
    } else if (line.starts_with("Anonymous:")) {
      mappings.back().anonymous_kib = FieldKib(line, "Anonymous:");
    }
  }
  return mappings;
}

}  // namespace

ReleasedPages ReleaseStartupPages() {
  ReleasedPages released;
  for (const Mapping& m : ReadOwnMappings()) {
    // A private copy (relocated data, a written page) exists only in this
    // mapping: dropping it would lose it. Read-only mappings get no new one.
    if (!m.releasable || m.anonymous_kib != 0u || m.rss_kib == 0) continue;
    if (madvise(reinterpret_cast<void*>(m.start), m.end - m.start, MADV_DONTNEED) != 0) continue;
    released.file_kib += m.rss_kib;
    ++released.mappings;
  }
  malloc_trim(0);
  return released;
}

}  // namespace kvhost
