#include "agent/state/state_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include "agent/state/state_file_format.h"
#include "base/kept_file.h"
#include "base/regular_file.h"
#include "base/unique_fd.h"

namespace kvhost {

namespace {

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

[[noreturn]] void ThrowSystemError(const std::string& what, const std::filesystem::path& path,
                                   int error) {
  throw StateStoreError("cannot " + what + " " + path.string() + ": " + ErrnoText(error));
}

void WriteAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t written = write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      ThrowSystemError("write", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

// The rename is durable only once the directory entry is on disk.
void SyncDirectory(const std::filesystem::path& directory) {
  UniqueFd fd(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) ThrowSystemError("open directory", directory, errno);
  if (fsync(fd.get()) < 0) ThrowSystemError("fsync directory", directory, errno);
}

// Unique among concurrent Saves of this process; O_EXCL guards the rest.
std::filesystem::path TempPath(const std::filesystem::path& directory) {
  static std::atomic<unsigned> counter{0};
  return directory / (std::string(StateStore::kTempPrefix) + std::to_string(getpid()) + "-" +
                      std::to_string(counter.fetch_add(1)));
}

std::string UtcTimestamp() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

}  // namespace

StateStore::StateStore(std::filesystem::path directory)
    : directory_(std::move(directory)), file_(directory_ / kFileName) {}

void StateStore::Save(const v1::AgentState& state) const {
  v1::AgentState stamped = state;
  stamped.set_version(kAgentStateVersion);
  std::string payload;
  if (!stamped.SerializeToString(&payload))
    throw StateStoreError("cannot serialize the agent state");
  std::string framed;
  try {
    framed = FrameStatePayload(payload);
  } catch (const StateFormatError& e) {
    throw StateStoreError("cannot save " + file().string() + ": " + e.what());
  }

  std::error_code mkdir_error;
  std::filesystem::create_directories(directory_, mkdir_error);
  if (mkdir_error) ThrowSystemError("create directory", directory_, mkdir_error.value());

  std::filesystem::path temp = TempPath(directory_);
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) ThrowSystemError("create", temp, errno);
  try {
    WriteAll(fd.get(), framed, temp);
    if (fsync(fd.get()) < 0) ThrowSystemError("fsync", temp, errno);
    if (fd.Close() < 0) ThrowSystemError("close", temp, errno);
    if (rename(temp.c_str(), file().c_str()) < 0)
      ThrowSystemError("rename into place", temp, errno);
  } catch (...) {
    // The old state.pb is untouched; do not leave the half-made new one behind.
    unlink(temp.c_str());
    throw;
  }
  SyncDirectory(directory_);
}

void StateStore::RemoveStaleTempFiles() const {
  std::error_code error;
  std::filesystem::directory_iterator entries(directory_, error);
  if (error) return;  // no directory yet: nothing to clean
  for (const auto& entry : entries) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    // A temp file is only ever committed by its rename; one still here lost its Save to a crash.
    spdlog::warn("removing {}: an unfinished state save from before a crash",
                 entry.path().string());
    std::filesystem::remove(entry.path(), error);
  }
}

std::filesystem::path StateStore::MoveAside(const std::string& problem) const {
  std::filesystem::path base = directory_ / (std::string(kCorruptPrefix) + UtcTimestamp());
  std::filesystem::path target = base;
  // Two bad loads within one second must not overwrite the first piece of evidence.
  for (int n = 1; std::filesystem::exists(target) && n < 1000; ++n) {
    target = base.string() + "-" + std::to_string(n);
  }
  if (rename(file().c_str(), target.c_str()) < 0) {
    int error = errno;
    spdlog::error(
        "state file {} is corrupt ({}) and could not be moved aside to {}: {}; starting from an "
        "empty state, allocations will be rebuilt from libvirt",
        file().string(), problem, target.string(), ErrnoText(error));
    return {};
  }
  try {
    SyncDirectory(directory_);
  } catch (const StateStoreError& e) {
    spdlog::warn("{}", e.what());  // the rename happened; only its durability is in doubt
  }
  spdlog::error(
      "state file {} is corrupt ({}); moved it to {} and starting from an empty state, "
      "allocations will be rebuilt from libvirt",
      file().string(), problem, target.string());
  return target;
}

LoadedState StateStore::Read() const {
  LoadedState loaded;
  std::optional<std::string> bytes;
  try {
    // One byte more than any framed state, so the framing check sees the excess.
    // Kept while unchanged: every refresh and every `capacity` rereads it.
    bytes = ReadKeptFile(file().native(), kMaxStatePayload + kStateHeaderSize + 1);
  } catch (const FileReadError& e) {
    loaded.problem =
        "unreadable: " +
        std::string(e.too_large() ? "larger than any state this agent writes" : e.what());
  }
  if (!bytes && loaded.problem.empty()) {
    // native(), not string(): no copy is made when info lines are off.
    spdlog::info("no state file {}: starting from an empty state", file().native());
    loaded.status = StateLoadStatus::kMissing;
    return loaded;
  }
  if (bytes) {
    try {
      std::string_view payload = UnframeStatePayload(*bytes);
      if (!loaded.state.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        loaded.problem = "payload is not a kvhost.v1.AgentState message";
      } else if (loaded.state.version() != kAgentStateVersion) {
        loaded.problem = "state version " + std::to_string(loaded.state.version()) +
                         ", this agent reads " + std::to_string(kAgentStateVersion);
      }
    } catch (const StateFormatError& e) {
      loaded.problem = e.what();
    }
  }
  if (loaded.problem.empty()) {
    loaded.status = StateLoadStatus::kLoaded;
    return loaded;
  }
  loaded.state.Clear();
  loaded.status = StateLoadStatus::kCorrupt;
  return loaded;
}

LoadedState StateStore::Load() const {
  RemoveStaleTempFiles();
  LoadedState loaded = Read();
  if (loaded.status == StateLoadStatus::kCorrupt) loaded.moved_aside_to = MoveAside(loaded.problem);
  return loaded;
}

}  // namespace kvhost
