#pragma once
// Time in the policy and its decision core.
//
// The decision core never reads a clock: every event carries its time as a
// TimePoint on DecisionClock, whose epoch is the caller's (the arbiter uses
// its steady clock, the simulator starts at zero). Durations are whole
// milliseconds, so every decision is exact and reproducible.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lull::policy {

using Duration = std::chrono::milliseconds;

// A clock with no now(): time only enters through events.
struct DecisionClock {
  using rep = Duration::rep;
  using period = Duration::period;
  using duration = Duration;
  using time_point = std::chrono::time_point<DecisionClock, Duration>;
  static constexpr bool is_steady = true;
};
using TimePoint = DecisionClock::time_point;

// Parses "30s", "5m", "1h30m", "250ms", "2d": one or more <digits><unit>
// groups, unit one of ms, s, m, h, d. Returns nullopt for anything else
// (bare numbers, negative or fractional values, overflow). Pure.
std::optional<Duration> parse_duration(std::string_view text);

// The shortest exact spelling parse_duration accepts: "0s", "90s" -> "1m30s",
// "2h", "1500ms" -> "1s500ms". Pure.
std::string format_duration(Duration duration);

// `time + duration`, clamped to TimePoint's range instead of overflowing.
// Pure.
constexpr TimePoint saturating_add(TimePoint time, Duration duration) noexcept {
  Duration::rep sum = 0;
  if (__builtin_add_overflow(time.time_since_epoch().count(), duration.count(), &sum)) {
    return duration.count() > 0 ? TimePoint::max() : TimePoint::min();
  }
  return TimePoint(Duration(sum));
}

// `to - from`, clamped to Duration's range instead of overflowing. Pure.
constexpr Duration saturating_elapsed(TimePoint from, TimePoint to) noexcept {
  Duration::rep difference = 0;
  if (__builtin_sub_overflow(to.time_since_epoch().count(), from.time_since_epoch().count(), &difference)) {
    return to > from ? Duration::max() : Duration::min();
  }
  return Duration(difference);
}

// Seconds as a double, for figures and logs.
inline double to_seconds(Duration duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace lull::policy
