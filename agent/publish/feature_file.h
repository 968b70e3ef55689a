// The node-feature-discovery `local` source file format (features.d):
// `key=value` lines, `# +expiry-time=<RFC3339>` applying to the lines after it.
// The parser is a port of NFD's source/local/local.go (parseFeatureFile,
// parseDirectives), so tests and the writer read our file the way NFD does.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvhost::publish {

using Labels = std::map<std::string, std::string>;
using Clock = std::chrono::system_clock;

// NFD skips a feature file larger than this (local.go MaxFeatureFileSize).
constexpr size_t kMaxFeatureFileSize = 65536;

// The file NFD would read: an expiry directive, then one line per label.
std::string FormatFeatureFile(const Labels& labels, Clock::time_point expiry);

struct ParsedFeatureFile {
  Labels labels;
  Labels features;
  std::optional<Clock::time_point> expiry;  // the last expiry-time directive that parsed
  std::vector<std::string> errors;          // directives NFD logs and ignores
};

// What NFD makes of `text` at `now`.
ParsedFeatureFile ParseFeatureFile(std::string_view text, Clock::time_point now);

// Go's time.Parse(time.RFC3339, ...): "2080-07-28T11:22:33Z", optional
// fractional seconds, "Z" or a "+hh:mm" offset.
std::optional<Clock::time_point> ParseRfc3339(std::string_view text);
// Whole seconds in UTC with "Z", as NFD's examples write it.
std::string FormatRfc3339(Clock::time_point time);

}  // namespace kvhost::publish
