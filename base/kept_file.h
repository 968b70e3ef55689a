// ReadRegularFile for the few small files every refresh rereads: the agent's
// state and qualification hold, kubelet's checkpoints and config. Most of them
// are absent on most hosts (no kubelet on a plain libvirt host, no hold but
// while a qualification runs), and the others seldom change.
//
// One stat() comes first. Absent (ENOENT, ENOTDIR) is then known for about
// half what a failed open() costs on a VM. A file whose stamp is settled and
// unchanged since it was last read (base/file_stamp.h, git's "racily clean"
// rule) gives the text kept from that read: one system call instead of four.
// Anything else is read as ReadRegularFile reads it, with its errors.
//
// Never for kernel files: a sysfs or procfs file keeps its stamp while its
// content changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace kvhost {

// The last texts of this many files are kept (the least recently read goes
// first); a process reads about five such files.
inline constexpr size_t kKeptFiles = 8;
// Larger texts are read every time, never kept.
inline constexpr size_t kKeptFileMaxBytes = 1 << 20;

// As ReadRegularFile(AT_FDCWD, path, max_bytes): the text, nullopt when absent,
// FileReadError when it cannot be read.
std::optional<std::string> ReadKeptFile(const std::string& path, size_t max_bytes);

// How many times ReadKeptFile has read a file rather than give a kept text
// (absent files are neither): what tests check the keeping by.
uint64_t KeptFileReads();

}  // namespace kvhost
