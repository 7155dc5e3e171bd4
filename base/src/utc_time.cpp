#include "lull/base/utc_time.h"

#include <ctime>

#include <fmt/format.h>

namespace lull {

std::string iso8601_utc(std::int64_t unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return std::to_string(unix_seconds) + " (unix time)";
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string iso8601_utc_millis(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  std::string text = iso8601_utc(seconds.count());
  if (text.back() == 'Z') text.insert(text.size() - 1, fmt::format(".{:03}", millis));
  return text;
}

}  // namespace lull
