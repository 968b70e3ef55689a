// The one error both YAML loaders (catalog, config) throw: the message is
// "<file>:<line>: <reason>" so an operator can jump straight to the bad value.
#pragma once

#include <stdexcept>
#include <string>

namespace kvhost {

class YamlInputError : public std::runtime_error {
 public:
  // line 0: the error concerns the whole file (missing, unreadable); the
  // message is then "<file>: <reason>".
  YamlInputError(std::string file, unsigned line, std::string reason);
  const std::string& file() const { return file_; }
  unsigned line() const { return line_; }  // 1-based
  const std::string& reason() const { return reason_; }

 private:
  std::string file_;
  unsigned line_;
  std::string reason_;
};

}  // namespace kvhost
