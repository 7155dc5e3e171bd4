#pragma once
// RateLimitedWarning — a warning about something that can happen many times
// a second (a client refused for want of descriptors, the connection table
// full), logged at most once per interval with the number of times it
// happened meanwhile, so that a flood of clients cannot flood the log.
// Not thread-safe.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace lull::arbiter {

class RateLimitedWarning {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimitedWarning(std::chrono::milliseconds interval = std::chrono::seconds(10)) : interval_(interval) {}

  // Counts one occurrence at `now`; logs `what` (lull's warn level) when no
  // line was logged in the last interval, adding how many occurrences that
  // line leaves unsaid. Returns whether it logged.
  bool note(const std::string& what, Clock::time_point now);

 private:
  std::chrono::milliseconds interval_;
  std::optional<Clock::time_point> last_logged_;
  std::size_t unsaid_ = 0;
};

}  // namespace lull::arbiter
