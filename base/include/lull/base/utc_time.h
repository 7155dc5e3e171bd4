#pragma once
// Wall-clock times as people and files read them.

#include <chrono>
#include <cstdint>
#include <string>

namespace lull {

// "2025-05-01T12:34:56Z" (ISO 8601, UTC); "<n> (unix time)" for a time the
// calendar cannot show.
std::string iso8601_utc(std::int64_t unix_seconds);

// "2025-05-01T12:34:56.250Z": iso8601_utc() with the milliseconds.
std::string iso8601_utc_millis(std::chrono::system_clock::time_point time);

}  // namespace lull
