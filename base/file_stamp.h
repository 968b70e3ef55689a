// A file's identity and change times from one stat, so a reader that keeps
// its last parse (the kubelet config, reread at every refresh) can skip the
// read of a file that has not changed: one system call instead of four.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace kvhost {

struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;  // a file replaced by rename is another inode
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;  // any write or metadata change moves it; no call sets it back
  bool operator==(const FileStamp&) const = default;
};

// The stamp of `path` (following symlinks), or nullopt with errno set when it
// cannot be taken; the caller's read then reports why.
std::optional<FileStamp> StampOf(const char* path);

// Now on the clock file times are taken from (CLOCK_REALTIME), in ns.
int64_t FileClockNowNs();

// How much older than a read a file's ctime must be for its stamp to vouch for
// the content read. The kernel stamps files from a coarse clock (up to one
// tick, 10 ms at HZ=100, behind), so a write in the same tick as a read can
// leave every time as it was; a second covers that with room to spare.
inline constexpr int64_t kStampSettleNs = 1'000'000'000;

// git's rule for "racily clean" index entries: content read at `read_at_ns`
// under `stamp` is known to be the file's as long as the stamp stays the same
// only when the file was last changed more than kStampSettleNs before the
// read. Otherwise a later change could keep the stamp, and the file must be
// read again.
inline bool StampSettled(const FileStamp& stamp, int64_t read_at_ns) {
  return stamp.ctime_ns + kStampSettleNs < read_at_ns;
}

}  // namespace kvhost
