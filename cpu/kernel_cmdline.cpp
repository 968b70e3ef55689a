#include "cpu/kernel_cmdline.h"

#include <algorithm>

namespace kvhost {

KernelCmdline KernelCmdline::Parse(std::string_view text) {
  KernelCmdline cmd;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    std::string word;
    bool quoted = false;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c == '"') {
        quoted = !quoted;
        continue;
      }
      if (!quoted && (c == ' ' || c == '\n' || c == '\t')) break;
      word += c;
    }
    size_t eq = word.find('=');
    if (eq == std::string::npos)
      cmd.args_.emplace_back(word, std::nullopt);
    else
      cmd.args_.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  return cmd;
}

std::optional<std::string> KernelCmdline::Last(std::string_view key) const {
  for (auto it = args_.rbegin(); it != args_.rend(); ++it)
    if (it->first == key) return it->second.value_or("");
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> KernelCmdline::AllOf(
    std::initializer_list<std::string_view> keys) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : args_)
    if (v && std::find(keys.begin(), keys.end(), k) != keys.end()) out.emplace_back(k, *v);
  return out;
}

}  // namespace kvhost
