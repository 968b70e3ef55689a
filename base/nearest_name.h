// "Did you mean ...?" for a mistyped name (a subcommand, a flag, a config key,
// an instance type): the nearest known one within a few edits, ignoring case.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvhost {

// Edits (insert, delete, replace) from a to b, ignoring case.
size_t EditDistance(std::string_view a, std::string_view b);

// Three edits cover a dropped letter and a wrong case or two
// ("dedicatedCPUPlacment"); more would suggest unrelated names.
inline constexpr size_t kMaxTypoEdits = 3;

// The known name nearest `name` within kMaxTypoEdits (the first of equals),
// nullopt when none is that near or `name` is itself known.
std::optional<std::string> NearestName(std::string_view name,
                                       std::span<const std::string_view> known);
std::optional<std::string> NearestName(std::string_view name,
                                       const std::vector<std::string>& known);

// " (did you mean 'x'?)" when NearestName finds one, else "".
std::string DidYouMean(std::string_view name, const std::vector<std::string>& known);

}  // namespace kvhost
