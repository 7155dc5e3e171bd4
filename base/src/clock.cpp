#include "lull/base/clock.h"

namespace lull {

namespace {

class RealClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steady_now() const noexcept override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wall_now() const noexcept override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace

double Clock::unix_seconds() const noexcept {
  // Whole seconds and the fraction apart: today's nanoseconds since 1970 do
  // not fit a double's 53 bits, and one rounding of the sum is exact for a
  // time like 12:00:06.75.
  const auto since_epoch = wall_now().time_since_epoch();
  const auto whole = std::chrono::floor<std::chrono::seconds>(since_epoch);
  return static_cast<double>(whole.count()) + std::chrono::duration<double>(since_epoch - whole).count();
}

double Clock::seconds_since(std::chrono::steady_clock::time_point since) const noexcept {
  return std::chrono::duration<double>(steady_now() - since).count();
}

const Clock& real_clock() noexcept {
  static const RealClock clock;
  return clock;
}

}  // namespace lull
