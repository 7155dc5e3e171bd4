// Wall-clock times as lull writes them (base/src/utc_time.cpp): ISO 8601 in
// UTC, with milliseconds where a log line needs them, and a time the
// calendar cannot show given as its number.
#include "lull/base/utc_time.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace lull {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST(UtcTime, SecondsAndMillisecondsInIso8601) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1748779200), "2025-06-01T12:00:00Z");
  EXPECT_EQ(iso8601_utc_millis(system_clock::time_point(milliseconds(1748779200250))), "2025-06-01T12:00:00.250Z");
  EXPECT_EQ(iso8601_utc_millis(system_clock::time_point(milliseconds(1748779200005))), "2025-06-01T12:00:00.005Z");
  EXPECT_EQ(iso8601_utc_millis(system_clock::time_point(milliseconds(0))), "1970-01-01T00:00:00.000Z");
}

TEST(UtcTime, ATimeTheCalendarCannotShowIsItsNumber) {
  const std::int64_t far = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(iso8601_utc(far), std::to_string(far) + " (unix time)");
}

}  // namespace
}  // namespace lull
