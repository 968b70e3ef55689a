// The two errors every reader shares. A parser throws FormatError (it sees only
// text); the reader that knows the file turns it into InputError, so every
// message a user sees starts with the file's path.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kvhost {

// Input bytes quoted in a message, made safe to print: a NUL would cut the
// message short (what() is a C string) and escape sequences would reach the
// operator's terminal. Control bytes, DEL and non-ASCII bytes become \xNN.
inline std::string EscapeForMessage(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

// Thrown by the text parsers; callers add the file name (see InputError).
class FormatError : public std::runtime_error {
 public:
  explicit FormatError(const std::string& what) : std::runtime_error(EscapeForMessage(what)) {}
};

// Bad or unreadable input: the message always starts with the file's path.
class InputError : public std::runtime_error {
 public:
  InputError(const std::filesystem::path& file, const std::string& what)
      : std::runtime_error(EscapeForMessage(file.string() + ": " + what)), file_(file) {}
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace kvhost
