// The kernel command line as the kernel splits it: words separated by spaces,
// double quotes keep spaces inside a value, a later repeat of a key wins.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvhost {

class KernelCmdline {
 public:
  static KernelCmdline Parse(std::string_view text);

  // Value of the last `key=value`; "" for a bare `key`; nullopt when absent.
  std::optional<std::string> Last(std::string_view key) const;
  // Every `key=value` whose key is one of `keys`, in order (hugepagesz=/hugepages= pairs).
  std::vector<std::pair<std::string, std::string>> AllOf(
      std::initializer_list<std::string_view> keys) const;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> args_;
};

}  // namespace kvhost
