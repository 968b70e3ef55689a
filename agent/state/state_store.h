// The crash-safe state file <dir>/state.pb: what the agent decided, kept
// across restarts and crashes.
//
// Save never leaves a half-written state.pb: it writes a temp file in the same
// directory, fsyncs it, renames it over state.pb and fsyncs the directory, so
// after a crash the file is either the old state or the new one. Load never
// fails the agent: a damaged file is moved aside for a human to look at, and
// the agent starts empty and rebuilds its allocations from libvirt, which is
// the truth about running domains anyway.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "state.pb.h"

namespace kvhost {

// The AgentState.version this agent writes and reads.
inline constexpr uint32_t kAgentStateVersion = 1;

// Save could not make the new state durable; the previous state.pb is intact.
class StateStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class StateLoadStatus {
  kLoaded,   // state.pb was read and verified
  kMissing,  // no state.pb: first start, or it was removed
  kCorrupt,  // state.pb was truncated, damaged, unreadable or of an unknown version
};

struct LoadedState {
  v1::AgentState state;  // empty unless kLoaded
  StateLoadStatus status = StateLoadStatus::kMissing;
  std::string problem;  // kCorrupt: what was wrong with the file
  std::filesystem::path
      moved_aside_to;  // kCorrupt: where the file went; empty if it could not move

  // No saved allocations to trust: the caller must rebuild them from libvirt
  // (domain metadata and actual pinning) before placing anything new.
  bool rebuild_from_libvirt_needed() const { return status != StateLoadStatus::kLoaded; }
};

class StateStore {
 public:
  explicit StateStore(std::filesystem::path directory);

  const std::filesystem::path& directory() const { return directory_; }
  const std::filesystem::path& file() const { return file_; }

  // Atomically replaces state.pb (stamping version = kAgentStateVersion).
  // Creates the directory when missing. Throws StateStoreError naming the
  // file and the failing system call.
  void Save(const v1::AgentState& state) const;

  // Reads state.pb. Temp files a crash left behind are removed first (they
  // are never the committed state). On a bad file: logs a spdlog::error naming
  // the file and the damage, renames it to state.pb.corrupt-<UTC timestamp>,
  // and returns an empty state with status kCorrupt.
  LoadedState Load() const;
  // The same verification as Load, with no side effect: no temp file removed,
  // a bad file left where it is (moved_aside_to stays empty). For readers such
  // as `audit` that must not change what the daemon will find.
  LoadedState Read() const;

  static constexpr char kFileName[] = "state.pb";
  static constexpr char kTempPrefix[] = "state.pb.tmp-";
  static constexpr char kCorruptPrefix[] = "state.pb.corrupt-";

 private:
  void RemoveStaleTempFiles() const;
  std::filesystem::path MoveAside(const std::string& problem) const;

  std::filesystem::path directory_;
  std::filesystem::path file_;  // directory_ / kFileName, joined once: read at every refresh
};

}  // namespace kvhost
