#include "base/nearest_name.h"

#include <algorithm>
#include <cctype>

namespace kvhost {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      const size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

std::optional<std::string> NearestName(std::string_view name,
                                       std::span<const std::string_view> known) {
  std::optional<std::string> closest;
  size_t closest_distance = kMaxTypoEdits + 1;
  for (std::string_view candidate : known) {
    if (candidate == name) return std::nullopt;
    const size_t distance = EditDistance(name, candidate);
    if (distance < closest_distance) closest = std::string(candidate), closest_distance = distance;
  }
  return closest;
}

std::optional<std::string> NearestName(std::string_view name,
                                       const std::vector<std::string>& known) {
  const std::vector<std::string_view> views(known.begin(), known.end());
  return NearestName(name, std::span<const std::string_view>(views));
}

std::string DidYouMean(std::string_view name, const std::vector<std::string>& known) {
  const auto nearest = NearestName(name, known);
  return nearest ? " (did you mean '" + *nearest + "'?)" : "";
}

}  // namespace kvhost
