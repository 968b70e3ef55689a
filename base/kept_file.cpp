#include "base/kept_file.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <mutex>

#include "base/file_stamp.h"
#include "base/regular_file.h"

namespace kvhost {
namespace {

struct KeptText {
  std::string path;
  FileStamp stamp;         // taken before `text` was read
  int64_t read_at_ns = 0;  // when the stamp was taken
  uint64_t last_used = 0;  // for choosing which entry a new file replaces
  std::string text;
};

// Process-wide: the daemon's refresh, `capacity` and the API's handlers read
// the same files, from any thread.
struct KeptTexts {
  std::mutex mutex;
  std::array<KeptText, kKeptFiles> entries;
  uint64_t uses = 0;
  uint64_t reads = 0;  // KeptFileReads()

  KeptText* Find(const std::string& path) {
    for (auto& e : entries)
      if (!e.path.empty() && e.path == path) return &e;
    return nullptr;
  }
};

KeptTexts& Kept() {
  static KeptTexts kept;
  return kept;
}

}  // namespace

std::optional<std::string> ReadKeptFile(const std::string& path, size_t max_bytes) {
  // Before the stamp: a write after this instant cannot keep a settled stamp.
  const int64_t read_at = FileClockNowNs();
  const std::optional<FileStamp> stamp = StampOf(path.c_str());
  // Absent as ReadRegularFile has it; any other failure is its to word.
  if (!stamp && (errno == ENOENT || errno == ENOTDIR)) return std::nullopt;
  KeptTexts& kept = Kept();
  if (stamp) {
    const std::lock_guard lock(kept.mutex);
    KeptText* e = kept.Find(path);
    if (e && e->stamp == *stamp && StampSettled(e->stamp, e->read_at_ns) &&
        e->text.size() <= max_bytes) {
      e->last_used = ++kept.uses;
      return e->text;
    }
  }
  std::optional<std::string> text = ReadRegularFile(AT_FDCWD, path.c_str(), max_bytes);
  const std::lock_guard lock(kept.mutex);
  ++kept.reads;
  if (!text || !stamp || text->size() > kKeptFileMaxBytes) return text;
  KeptText* e = kept.Find(path);
  if (!e)
    e = &*std::min_element(
        kept.entries.begin(), kept.entries.end(),
        [](const KeptText& a, const KeptText& b) { return a.last_used < b.last_used; });
  e->path = path;
  e->stamp = *stamp;
  e->read_at_ns = read_at;
  e->last_used = ++kept.uses;
  e->text = *text;
  return text;
}

uint64_t KeptFileReads() {
  KeptTexts& kept = Kept();
  const std::lock_guard lock(kept.mutex);
  return kept.reads;
}

}  // namespace kvhost
