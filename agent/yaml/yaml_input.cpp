#include "agent/yaml/yaml_input.h"

#include <fcntl.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <vector>

#include "agent/catalog/quantity.h"
#include "base/errors.h"
#include "base/kept_file.h"
#include "base/nearest_name.h"
#include "base/regular_file.h"

namespace kvhost {
namespace {

std::string FormatMessage(const std::string& file, unsigned line, const std::string& reason) {
  return line == 0 ? file + ": " + reason : file + ":" + std::to_string(line) + ": " + reason;
}

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// yaml-cpp 0.7's LoadAll never ends on some inputs (", 7" found by fuzz_config):
// a stray token at document level is not consumed, so every HandleNextDocument
// "parses" one more empty document at the same place, without end and with
// ever more memory. This pass sees only events (no nodes) and stops at the
// first document that starts where the previous one did.
class StallDetector : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_ && mark.pos == last_start_.pos) stalled_at_ = mark;
    started_ = true;
    last_start_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  const std::optional<YAML::Mark>& stalled_at() const { return stalled_at_; }

 private:
  bool started_ = false;
  YAML::Mark last_start_;
  std::optional<YAML::Mark> stalled_at_;
};

}  // namespace

std::string UnknownKeyReason(std::string_view key, std::span<const std::string_view> known) {
  const std::string reason = "unknown key " + Quoted(key);
  if (const auto closest = NearestName(key, known))
    return reason + " (did you mean " + Quoted(*closest) + "?)";
  std::string list = reason + " (known keys:";
  for (std::string_view candidate : known) list += " " + std::string(candidate);
  return list + ")";
}

YamlInputError::YamlInputError(std::string file, unsigned line, std::string reason)
    : std::runtime_error(EscapeForMessage(FormatMessage(file, line, reason))),
      file_(std::move(file)),
      line_(line),
      reason_(std::move(reason)) {}

namespace {

// `read`'s text, its FileReadError worded as a YamlInputError naming the file.
template <typename Read>
std::optional<std::string> ReadWorded(const std::string& path, size_t max_bytes,
                                      std::string_view limit_why, const Read& read) {
  try {
    return read();
  } catch (const FileReadError& e) {
    if (!e.too_large()) throw YamlInputError(path, 0, e.what());
    throw YamlInputError(path, 0,
                         std::string(e.what()) + ", more than the limit of " +
                             std::to_string(max_bytes >> 10) + " KiB: " + std::string(limit_why));
  }
}

}  // namespace

std::string ReadTextFile(const std::string& path, size_t max_bytes, std::string_view limit_why) {
  // A directory is refused by the read itself ("is a directory, not a regular
  // file"): no stat first.
  auto text = ReadWorded(path, max_bytes, limit_why,
                         [&] { return ReadRegularFile(AT_FDCWD, path.c_str(), max_bytes); });
  if (!text) throw YamlInputError(path, 0, "cannot open: No such file or directory");
  return std::move(*text);
}

std::optional<std::string> ReadKeptTextFile(const std::string& path, size_t max_bytes,
                                            std::string_view limit_why) {
  return ReadWorded(path, max_bytes, limit_why, [&] { return ReadKeptFile(path, max_bytes); });
}

unsigned YamlFieldReader::LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : static_cast<unsigned>(mark.line) + 1;  // yaml-cpp counts from 0
}

std::string YamlFieldReader::Location(const YAML::Node& node) const {
  return source_ + ":" + std::to_string(LineOf(node));
}

void YamlFieldReader::Fail(unsigned line, const std::string& reason) const {
  throw YamlInputError(source_, line, reason);
}

std::vector<YAML::Node> YamlFieldReader::ParseDocuments(std::string_view text) const {
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    StallDetector detector;
    while (parser.HandleNextDocument(detector))
      if (const auto& at = detector.stalled_at())
        Fail(static_cast<unsigned>(at->line) + 1,
             "invalid YAML: a token outside any document (a stray ',', ']' or '}'?)");
    return YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message for this is only "bad file".
    Fail(e.mark.is_null() ? 0 : static_cast<unsigned>(e.mark.line) + 1,
         "invalid YAML: nested deeper than " + std::to_string(e.depth() - 1) +
             " levels (no catalog or config needs more than 10)");
  } catch (const YAML::Exception& e) {
    Fail(e.mark.is_null() ? 0 : static_cast<unsigned>(e.mark.line) + 1, "invalid YAML: " + e.msg);
  }
}

// A key that is not there is a "zombie" node: asking it IsScalar()/IsMap()
// throws YAML::InvalidNode, which no caller expects (found by fuzz_kubelet).
void YamlFieldReader::RequirePresent(const YAML::Node& node, std::string_view field) const {
  if (!node.IsDefined()) Fail(0, std::string(field) + " is required");
}

std::string YamlFieldReader::Text(const YAML::Node& node, std::string_view field) const {
  RequirePresent(node, field);
  if (!node.IsScalar()) Fail(node, std::string(field) + " must be a single value");
  return node.Scalar();
}

bool YamlFieldReader::Bool(const YAML::Node& node, std::string_view field) const {
  RequirePresent(node, field);
  bool value = false;
  // yaml-cpp's decoder takes what YAML 1.1 (and so Kubernetes) calls a boolean: true/false, yes/no,
  // on/off.
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value))
    Fail(node, std::string(field) + " must be true or false, got " +
                   Quoted(node.IsScalar() ? node.Scalar() : "a non-scalar"));
  return value;
}

uint64_t YamlFieldReader::Unsigned(const YAML::Node& node, std::string_view field,
                                   uint64_t max) const {
  const std::string text = Text(node, field);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    Fail(node, std::string(field) + " must be a non-negative integer, got " + Quoted(text));
  if (value > max)
    Fail(node, std::string(field) + " must be at most " + std::to_string(max) + ", got " + text);
  return value;
}

double YamlFieldReader::Number(const YAML::Node& node, std::string_view field) const {
  const std::string text = Text(node, field);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value))
    Fail(node, std::string(field) + " must be a number, got " + Quoted(text));
  return value;
}

uint64_t YamlFieldReader::QuantityBytes(const YAML::Node& node, std::string_view field) const {
  const std::string text = Text(node, field);
  try {
    return ParseQuantityBytes(text);
  } catch (const FormatError& e) {
    Fail(node, std::string(field) + ": " + e.what());
  }
}

CpuSet YamlFieldReader::CpuList(const YAML::Node& node, std::string_view field) const {
  const std::string text = Text(node, field);
  try {
    return ParseCpuList(text);
  } catch (const FormatError& e) {
    Fail(node, std::string(field) + ": " + e.what());
  }
}

std::map<std::string, std::string> YamlFieldReader::StringMap(const YAML::Node& node,
                                                              std::string_view field) const {
  std::map<std::string, std::string> values;
  ForEachEntry(node, field,
               [&](const std::string& key, const YAML::Node&, const YAML::Node& value) {
                 values[key] = Text(value, std::string(field) + "." + key);
               });
  return values;
}

void YamlFieldReader::RequireMap(const YAML::Node& node, std::string_view field) const {
  RequirePresent(node, field);
  if (!node.IsMap()) Fail(node, std::string(field) + " must be a mapping of keys to values");
}

void YamlFieldReader::ForEachEntry(const YAML::Node& map, std::string_view field,
                                   const EntryVisitor& visit) const {
  // "labels:" with nothing after it, or no "labels" at all: no entries.
  if (!map.IsDefined() || map.IsNull()) return;
  RequireMap(map, field);
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies, not references: yaml-cpp's iterator yields a temporary proxy, and a
    // reference to its first/second dangles as soon as this statement ends.
    const YAML::Node key_node = it->first;
    const YAML::Node value = it->second;
    const std::string key = Text(key_node, std::string(field) + " key");
    if (!seen.insert(key).second)
      Fail(key_node, std::string(field) + " repeats the key " + Quoted(key));
    visit(key, key_node, value);
  }
}

}  // namespace kvhost
