#include "agent/publish/feature_file_writer.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/atomic_file.h"

namespace kvhost::publish {

FeatureFileWriter::FeatureFileWriter(FeatureFileOptions options) : options_(std::move(options)) {
  const std::string name = options_.path.filename().string();
  if (name.empty() || name.front() == '.')
    throw std::invalid_argument("NFD feature file " + options_.path.string() +
                                ": NFD ignores names that are empty or start with '.'");
}

bool FeatureFileWriter::UpToDate(const Labels& labels, Clock::time_point now) const {
  std::ifstream in(options_.path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxFeatureFileSize) return false;
  const ParsedFeatureFile current = ParseFeatureFile(text.str(), now);
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
