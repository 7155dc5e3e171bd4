#pragma once
// ManualClock — a lull::Clock that stands still until the test moves it.
//
//   lull::test::ManualClock clock;
//   lull::detail::CheckpointSchedule schedule(0, TimeTrigger{10.0}, clock);
//   clock.advance(std::chrono::seconds(10));   // now it is due, exactly
//
// Its steady and wall times move together, from an arbitrary steady origin
// and 2025-06-01T12:00:00Z. advance() may race with readers on other threads
// (the watchdog's): each read sees the time before or after a whole advance.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "lull/base/clock.h"

namespace lull::test {

class ManualClock final : public Clock {
 public:
  static constexpr std::chrono::seconds kWallOrigin{1748779200};  // 2025-06-01T12:00:00Z

  std::chrono::steady_clock::time_point steady_now() const noexcept override {
    return std::chrono::steady_clock::time_point(std::chrono::hours(1000) + elapsed());
  }
  std::chrono::system_clock::time_point wall_now() const noexcept override {
    return std::chrono::system_clock::time_point(kWallOrigin) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed());
  }

  void advance(std::chrono::nanoseconds by) noexcept { elapsed_ns_.fetch_add(by.count()); }

 private:
  std::chrono::nanoseconds elapsed() const noexcept { return std::chrono::nanoseconds(elapsed_ns_.load()); }
  std::atomic<std::int64_t> elapsed_ns_{0};
};

}  // namespace lull::test
