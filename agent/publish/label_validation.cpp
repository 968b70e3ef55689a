#include "agent/publish/label_validation.h"

#include <regex>

namespace kvhost::publish {
namespace {

constexpr size_t kLabelKeyMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;

const char kLabelKeyFmt[] = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const char kDns1123LabelFmt[] = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

bool Matches(std::string_view value, const std::regex& pattern) {
  return std::regex_match(value.begin(), value.end(), pattern);
}

std::string MaxLenError(size_t length) {
  return "must be no more than " + std::to_string(length) + " characters";
}

}  // namespace

std::vector<std::string> IsDns1123Subdomain(std::string_view value) {
  static const std::regex subdomain(std::string(kDns1123LabelFmt) + "(\\." + kDns1123LabelFmt +
                                    ")*");
  std::vector<std::string> errors;
  if (value.size() > kDns1123SubdomainMaxLength)
    errors.push_back(MaxLenError(kDns1123SubdomainMaxLength));
  if (!Matches(value, subdomain))
    errors.push_back(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character");
  return errors;
}

std::vector<std::string> IsQualifiedName(std::string_view key) {
  static const std::regex name_pattern(kLabelKeyFmt);
  std::vector<std::string> errors;
  std::string_view name = key;
  const size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos)
      return {
          "a valid label key must be a name with an optional DNS subdomain prefix and '/' "
          "(e.g. 'example.com/MyName')"};
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) errors.push_back("prefix part must be non-empty");
    for (const auto& e : prefix.empty() ? std::vector<std::string>{} : IsDns1123Subdomain(prefix))
      errors.push_back("prefix part " + e);
  }
  if (name.empty())
    errors.push_back("name part must be non-empty");
  else if (name.size() > kLabelKeyMaxLength)
    errors.push_back("name part " + MaxLenError(kLabelKeyMaxLength));
  if (!Matches(name, name_pattern))
    errors.push_back(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
        "end with an alphanumeric character");
  return errors;
}

std::vector<std::string> IsValidLabelValue(std::string_view value) {
  static const std::regex value_pattern(std::string("(") + kLabelKeyFmt + ")?");
  std::vector<std::string> errors;
  if (value.size() > kLabelValueMaxLength) errors.push_back(MaxLenError(kLabelValueMaxLength));
  if (!Matches(value, value_pattern))
    errors.push_back(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character");
  return errors;
}

}  // namespace kvhost::publish
