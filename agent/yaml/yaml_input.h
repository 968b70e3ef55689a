// Internal to kvhost_catalog: typed reads out of yaml-cpp nodes for the catalog
// and config loaders, where every failure is a YamlInputError naming the file
// and the 1-based line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/yaml/yaml_error.h"
#include "base/cpu_set.h"

namespace kvhost {

// Reads the whole file; a missing, unreadable or non-regular file (a FIFO would
// block, /dev/zero never ends), or one over max_bytes, is a YamlInputError at
// line 0. `limit_why` tells the operator why the limit is what it is.
std::string ReadTextFile(const std::string& path, size_t max_bytes, std::string_view limit_why);
// ReadTextFile for a file every refresh rereads, through ReadKeptFile
// (base/kept_file.h); nullopt when it is absent.
std::optional<std::string> ReadKeptTextFile(const std::string& path, size_t max_bytes,
                                            std::string_view limit_why);

// "unknown key 'k' (did you mean 'K'?)" for a near miss of a known key, else
// the list of known keys: a typo on a production host must not pass silently.
std::string UnknownKeyReason(std::string_view key, std::span<const std::string_view> known);

class YamlFieldReader {
 public:
  explicit YamlFieldReader(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  // 1-based line of a parsed node; 0 for a node that did not come from text.
  static unsigned LineOf(const YAML::Node& node);
  // "<file>:<line>", what InstanceType::source records.
  std::string Location(const YAML::Node& node) const;

  [[noreturn]] void Fail(unsigned line, const std::string& reason) const;
  [[noreturn]] void Fail(const YAML::Node& at, const std::string& reason) const {
    Fail(LineOf(at), reason);
  }

  // Every document of a multi-document stream; a syntax error is a YamlInputError.
  std::vector<YAML::Node> ParseDocuments(std::string_view text) const;

  // Typed scalars; `field` is the dotted path used in the error ("spec.cpu.guest").
  std::string Text(const YAML::Node& node, std::string_view field) const;
  bool Bool(const YAML::Node& node, std::string_view field) const;
  // A non-negative decimal integer no larger than max.
  uint64_t Unsigned(const YAML::Node& node, std::string_view field, uint64_t max) const;
  double Number(const YAML::Node& node, std::string_view field) const;
  uint64_t QuantityBytes(const YAML::Node& node, std::string_view field) const;
  CpuSet CpuList(const YAML::Node& node, std::string_view field) const;
  std::map<std::string, std::string> StringMap(const YAML::Node& node,
                                               std::string_view field) const;

  // A missing key (yaml-cpp's undefined node) is "<field> is required".
  void RequirePresent(const YAML::Node& node, std::string_view field) const;
  void RequireMap(const YAML::Node& node, std::string_view field) const;
  // Visits a mapping's entries in file order (none when the key is absent or empty). yaml-cpp
  // silently keeps the first of two equal keys; a repeated key in a production file is a mistake,
  // so it fails.
  using EntryVisitor = std::function<void(const std::string& key, const YAML::Node& key_node,
                                          const YAML::Node& value)>;
  void ForEachEntry(const YAML::Node& map, std::string_view field, const EntryVisitor& visit) const;

 private:
  std::string source_;
};

}  // namespace kvhost
