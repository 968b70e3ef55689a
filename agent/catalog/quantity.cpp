#include "agent/catalog/quantity.h"

#include <array>
#include <limits>
#include <string>

#include "base/cpu_set.h"

namespace kvhost {
namespace {

struct Unit {
  std::string_view suffix;
  unsigned binary_shift;  // multiply by 2^binary_shift
  int decimal_exponent;   // then by 10^decimal_exponent
};

constexpr std::array<Unit, 13> kUnits{{
    {"Ki", 10, 0},
    {"Mi", 20, 0},
    {"Gi", 30, 0},
    {"Ti", 40, 0},
    {"Pi", 50, 0},
    {"Ei", 60, 0},
    {"", 0, 0},
    {"k", 0, 3},
    {"M", 0, 6},
    {"G", 0, 9},
    {"T", 0, 12},
    {"P", 0, 15},
    {"E", 0, 18},
}};

using Wide = unsigned __int128;
// Intermediate values stay below this so one more multiplication by 10 or 2 cannot overflow.
constexpr Wide kWideCeiling = Wide{1} << 120;

[[noreturn]] void Reject(std::string_view text, const std::string& why) {
  throw FormatError("bad quantity '" + std::string(text) + "': " + why);
}

// The exponent of "1e9" / "5E-3": an optionally signed decimal integer.
int ParseExponent(std::string_view quantity, std::string_view digits) {
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits.size() > 3) Reject(quantity, "exponent must be 1 to 3 digits");
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') Reject(quantity, "exponent is not a number");
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

}  // namespace

uint64_t ParseQuantityBytes(std::string_view text) {
  if (text.empty()) Reject(text, "empty");
  std::string_view rest = text;
  if (rest[0] == '-') Reject(text, "negative");
  if (rest[0] == '+') rest.remove_prefix(1);

  // Mantissa: digits with at most one '.', kept as one integer and a count of
  // fraction digits so "1.5Gi" is computed exactly as 15 * 2^30 / 10.
  std::string mantissa;
  int fraction_digits = 0;
  bool seen_point = false;
  size_t i = 0;
  for (; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c >= '0' && c <= '9') {
      if (!(mantissa.empty() && c == '0')) mantissa += c;  // leading zeros carry no value
      if (seen_point) ++fraction_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  const std::string_view number = rest.substr(0, i);
  if (number.empty() || number == ".") Reject(text, "does not start with a number");
  // 19 digits stay below 2^64, so even the Ei shift (2^60) fits the 128-bit arithmetic.
  if (mantissa.size() > 19) Reject(text, "more than 19 significant digits");

  const std::string_view suffix = rest.substr(i);
  unsigned binary_shift = 0;
  int decimal_exponent = -fraction_digits;
  bool known_unit = false;
  for (const Unit& unit : kUnits) {
    if (suffix == unit.suffix) {
      binary_shift = unit.binary_shift;
      decimal_exponent += unit.decimal_exponent;
      known_unit = true;
      break;
    }
  }
  // Kubernetes takes n, u and m (1m = a thousandth of a byte) for any quantity,
  // but memory in milli-bytes is always a typo for M or Mi.
  if (suffix == "m" || suffix == "u" || suffix == "n")
    Reject(text, "'" + std::string(suffix) +
                     "' is a fraction of a byte (m is milli); did you mean M or Mi?");
  if (!known_unit) {
    if (suffix[0] != 'e' && suffix[0] != 'E')
      Reject(text, "unknown unit '" + std::string(suffix) +
                       "' (use Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E or plain bytes)");
    decimal_exponent += ParseExponent(text, suffix.substr(1));
  }

  Wide value = 0;
  for (char c : mantissa) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value == 0) return 0;
  value <<= binary_shift;
  for (; decimal_exponent > 0; --decimal_exponent) {
    value *= 10;
    if (value >= kWideCeiling) Reject(text, "larger than 2^64 bytes");
  }
  if (decimal_exponent < 0) {
    Wide divisor = 1;
    for (; decimal_exponent < 0 && divisor < kWideCeiling; ++decimal_exponent) divisor *= 10;
    value = value / divisor + (value % divisor != 0);  // a partial byte still takes a byte
  }
  if (value > std::numeric_limits<uint64_t>::max()) Reject(text, "larger than 2^64 bytes");
  return static_cast<uint64_t>(value);
}

}  // namespace kvhost
