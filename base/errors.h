// The two errors every reader shares. A parser throws FormatError (it sees only
// text); the reader that knows the file turns it into InputError, so every
// message a user sees starts with the file's path.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace kvhost {

// Thrown by the text parsers; callers add the file name (see InputError).
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad or unreadable input: the message always starts with the file's path.
class InputError : public std::runtime_error {
 public:
  InputError(const std::filesystem::path& file, const std::string& what)
      : std::runtime_error(file.string() + ": " + what), file_(file) {}
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace kvhost
