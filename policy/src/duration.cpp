#include "lull/policy/duration.h"

#include <array>
#include <limits>

namespace lull::policy {

namespace {

struct UnitSpelling {
  std::string_view suffix;
  std::int64_t milliseconds;
};

// Longest suffix first so "ms" is not read as "m" followed by garbage.
constexpr std::array<UnitSpelling, 5> kUnits{{
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t value = 0;
    const std::size_t digits_begin = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      const int digit = text[pos] - '0';
      if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
      ++pos;
    }
    if (pos == digits_begin) return std::nullopt;
    const UnitSpelling* unit = nullptr;
    for (const UnitSpelling& candidate : kUnits) {
      if (text.substr(pos, candidate.suffix.size()) == candidate.suffix) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;
    pos += unit->suffix.size();
    if (value > std::numeric_limits<std::int64_t>::max() / unit->milliseconds) return std::nullopt;
    const std::int64_t part = value * unit->milliseconds;
    if (total > std::numeric_limits<std::int64_t>::max() - part) return std::nullopt;
    total += part;
  }
  return Duration(total);
}

std::string format_duration(Duration duration) {
  const std::int64_t count = duration.count();
  if (count == 0) return "0s";
  std::string out = count < 0 ? "-" : "";
  // The magnitude, unsigned: -INT64_MIN does not fit an int64.
  std::uint64_t left = count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  // Largest unit first: d, h, m, s, ms.
  for (auto unit = kUnits.rbegin(); unit != kUnits.rend(); ++unit) {
    const auto milliseconds = static_cast<std::uint64_t>(unit->milliseconds);
    if (left >= milliseconds) {
      out += std::to_string(left / milliseconds);
      out += unit->suffix;
      left %= milliseconds;
    }
  }
  return out;
}

}  // namespace lull::policy
