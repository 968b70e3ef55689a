#include "cpu/sysfs_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace kvhost {
namespace {

class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() { ::close(fd_); }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

 private:
  int fd_;
};

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

std::string StripTail(std::string s) {
  while (!s.empty() && (s.back() == '\0' || s.back() == '\n' || s.back() == ' ' ||
                        s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  return s;
}

}  // namespace

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

SysfsRoot::SysfsRoot(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec))
    throw InputError(root_, "root is not a directory" + (ec ? " (" + ec.message() + ")" : ""));
}

std::filesystem::path SysfsRoot::PathOf(std::string_view relative) const {
  return root_ / relative;
}

bool SysfsRoot::Exists(std::string_view relative) const {
  return ::access(PathOf(relative).c_str(), F_OK) == 0;
}

std::optional<std::string> SysfsRoot::ReadOptional(std::string_view relative) const {
  const auto path = PathOf(relative);
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  }
  ScopedFd fd(raw);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(raw, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(path, std::string("cannot read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (16u << 20)) throw InputError(path, "larger than 16 MiB: not a kernel file");
  }
  return StripTail(std::move(text));
}

std::string SysfsRoot::Read(std::string_view relative) const {
  auto text = ReadOptional(relative);
  if (!text) throw InputError(PathOf(relative), "missing");
  return *text;
}

std::optional<int64_t> SysfsRoot::ReadIntOptional(std::string_view relative) const {
  auto text = ReadOptional(relative);
  if (!text) return std::nullopt;
  auto v = ParseInt(*text);
  if (!v) throw InputError(PathOf(relative), "'" + text->substr(0, 40) + "' is not an integer");
  return v;
}

std::optional<uint64_t> SysfsRoot::ReadCountOptional(std::string_view relative) const {
  auto v = ReadIntOptional(relative);
  if (!v) return std::nullopt;
  if (*v < 0) throw InputError(PathOf(relative), "negative count " + std::to_string(*v));
  return static_cast<uint64_t>(*v);
}

std::optional<CpuSet> SysfsRoot::ReadCpuListOptional(std::string_view relative) const {
  auto text = ReadOptional(relative);
  if (!text) return std::nullopt;
  try {
    return ParseCpuList(*text);
  } catch (const FormatError& e) {
    throw InputError(PathOf(relative), e.what());
  }
}

std::optional<CpuSet> SysfsRoot::ReadCpuMaskOptional(std::string_view relative) const {
  auto text = ReadOptional(relative);
  if (!text) return std::nullopt;
  try {
    return ParseCpuMask(*text);
  } catch (const FormatError& e) {
    throw InputError(PathOf(relative), e.what());
  }
}

std::optional<CpuSet> SysfsRoot::ReadCpuListOrMask(std::string_view list_file,
                                                   std::string_view mask_file) const {
  if (auto list = ReadCpuListOptional(list_file)) return list;
  return ReadCpuMaskOptional(mask_file);
}

std::vector<std::string> SysfsRoot::ListNames(std::string_view dir,
                                              std::string_view prefix) const {
  std::vector<std::string> names;
  std::unique_ptr<DIR, DirCloser> d(::opendir(PathOf(dir).c_str()));
  if (!d) return names;
  while (const dirent* e = ::readdir(d.get())) {
    std::string_view name = e->d_name;
    if (name.substr(0, prefix.size()) == prefix) names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<unsigned> SysfsRoot::ListNumbered(std::string_view dir,
                                              std::string_view prefix) const {
  std::vector<unsigned> ids;
  for (const auto& name : ListNames(dir, prefix)) {
    std::string_view digits = std::string_view(name).substr(prefix.size());
    unsigned v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (!digits.empty() && ec == std::errc() && p == digits.data() + digits.size())
      ids.push_back(v);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace kvhost
