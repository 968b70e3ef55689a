#include "agent/publish/feature_file_writer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <optional>
#include <stdexcept>

#include "base/atomic_file.h"
#include "base/regular_file.h"

namespace kvhost::publish {

FeatureFileWriter::FeatureFileWriter(FeatureFileOptions options) : options_(std::move(options)) {
  const std::string name = options_.path.filename().string();
  if (name.empty() || name.front() == '.')
    throw std::invalid_argument("NFD feature file " + options_.path.string() +
                                ": NFD ignores names that are empty or start with '.'");
}

bool FeatureFileWriter::UpToDate(const Labels& labels, Clock::time_point now) const {
  std::optional<std::string> text;
  // A symlink here is not the file this writer wrote: its target (anything
  // root may read) is never read, and the rename replaces the link.
  struct stat link {};
  if (lstat(options_.path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    spdlog::error("NFD feature file {} is a symlink, not the file this agent wrote; replacing it",
                  options_.path.string());
    return false;
  }
  try {
    // Guarded as every read of a path an operator controls: a FIFO here froze
    // the event loop in open(), a symlink to /dev/zero read without end.
    text = ReadRegularFile(AT_FDCWD, options_.path.c_str(), kMaxFeatureFileSize);
  } catch (const FileReadError& e) {
    // Not the file this writer wrote; the rename of the new one replaces it.
    spdlog::error("NFD feature file {}: {}; writing the labels in its place",
                  options_.path.string(), e.what());
    return false;
  }
  if (!text) return false;
  const ParsedFeatureFile current = ParseFeatureFile(*text, now);
  return current.labels == labels && current.expiry &&
         *current.expiry - now > options_.expiry_window / 2;
}

bool FeatureFileWriter::Publish(const Labels& labels, Clock::time_point now) const {
  if (UpToDate(labels, now)) return false;
  const std::string text = FormatFeatureFile(
      labels, std::chrono::ceil<std::chrono::seconds>(now + options_.expiry_window));
  if (text.size() > kMaxFeatureFileSize)
    throw std::invalid_argument("NFD feature file " + options_.path.string() + " would be " +
                                std::to_string(text.size()) + " bytes; NFD skips files over " +
                                std::to_string(kMaxFeatureFileSize));
  // NFD skips dot-files, so it never reads the half-written temp file.
  WriteFileAtomically(options_.path, text, "." + options_.path.filename().string() + ".tmp", 0644);
  return true;
}

}  // namespace kvhost::publish
