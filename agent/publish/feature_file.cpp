#include "agent/publish/feature_file.h"

#include <ctime>
#include <regex>

namespace kvhost::publish {
namespace {

constexpr std::string_view kDirectivePrefix = "# +";

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

struct ParsingOptions {
  Clock::time_point expiry;
  bool skip_label = false;
  bool skip_feature = false;
};

// local.go parseDirectives: an error leaves the options as they were.
void ParseDirective(std::string_view line, ParsingOptions& options, ParsedFeatureFile& out) {
  if (!line.starts_with(kDirectivePrefix)) return;
  const std::string_view directive = line.substr(kDirectivePrefix.size());
  const size_t eq = directive.find('=');
  const std::string_view key = directive.substr(0, eq);
  if (key == "expiry-time") {
    if (eq == std::string_view::npos) {
      out.errors.push_back("invalid directive format in \"" + std::string(line) + "\"");
      return;
    }
    const auto expiry = ParseRfc3339(Trim(directive.substr(eq + 1)));
    if (!expiry) {
      out.errors.push_back("failed to parse expiry-date directive in \"" + std::string(line) +
                           "\"");
      return;
    }
    options.expiry = *expiry;
    out.expiry = *expiry;
  } else if (key == "no-feature") {
    options.skip_feature = true;
  } else if (key == "no-label") {
    options.skip_label = true;
  } else {
    out.errors.push_back("unknown feature file directive \"" + std::string(key) + "\"");
  }
}

// local.go updateFeatures: a bare key means "true".
void Update(Labels& m, std::string_view line, bool skip) {
  const size_t eq = line.find('=');
  const std::string key(line.substr(0, eq));
  if (skip)
    m.erase(key);
  else
    m[key] = eq == std::string_view::npos ? "true" : std::string(line.substr(eq + 1));
}

}  // namespace

ParsedFeatureFile ParseFeatureFile(std::string_view text, Clock::time_point now) {
  ParsedFeatureFile out;
  ParsingOptions options{now};
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    if (line.front() == '#') {
      ParseDirective(line, options, out);
      continue;
    }
    if (options.expiry < now) continue;
    Update(out.features, line, options.skip_feature);
    Update(out.labels, line, options.skip_label);
    // no-label and no-feature apply to one line only.
    options.skip_feature = options.skip_label = false;
  }
  return out;
}

std::optional<Clock::time_point> ParseRfc3339(std::string_view text) {
  static const std::regex rfc3339(
      R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2})))");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, rfc3339)) return std::nullopt;
  auto num = [&](int i) { return std::stoi(m[i].str()); };
  std::tm tm{};
  tm.tm_year = num(1) - 1900;
  tm.tm_mon = num(2) - 1;
  tm.tm_mday = num(3);
  tm.tm_hour = num(4);
  tm.tm_min = num(5);
  tm.tm_sec = num(6);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 59)
    return std::nullopt;
  std::time_t seconds = timegm(&tm);
  if (m[9].matched) {
    const int offset = (num(10) * 60 + num(11)) * 60;
    seconds += m[9].str() == "+" ? -offset : offset;
  }
  return Clock::from_time_t(seconds);
}

std::string FormatRfc3339(Clock::time_point time) {
  const std::time_t seconds = Clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string FormatFeatureFile(const Labels& labels, Clock::time_point expiry) {
  std::string out = "# Written by kvhost-agent; rewritten when a label changes.\n";
  out += std::string(kDirectivePrefix) + "expiry-time=" + FormatRfc3339(expiry) + "\n";
  for (const auto& [key, value] : labels) out += key + "=" + value + "\n";
  return out;
}

}  // namespace kvhost::publish
