#pragma once
// lull::Clock — where lull's timing code reads the time.
//
// The parts that decide by the clock take a Clock instead of asking
// std::chrono themselves (leveldb's Env::NowMicros): the runtime's checkpoint
// schedule, deadline planner and snapshot timer, and the collectives'
// watchdog. Programs get real_clock(); a test passes a clock it moves by hand
// (tests/support/manual_clock.h), so that "not due yet", "due exactly now"
// and "stuck past its timeout" are tested without sleeping.
//
// Threads: every function of a Clock may be called from any thread at any
// time (the watchdog's thread reads it while a collective waits).

#include <chrono>

namespace lull {

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time: durations, timeouts, periodic schedules.
  virtual std::chrono::steady_clock::time_point steady_now() const noexcept = 0;
  // Wall-clock time: deadlines other processes set (a notice file's
  // deadline_unix) and timestamps people read.
  virtual std::chrono::system_clock::time_point wall_now() const noexcept = 0;

  // wall_now() in seconds since the Unix epoch, the notice file's unit.
  double unix_seconds() const noexcept;
  // Seconds from `since` to steady_now().
  double seconds_since(std::chrono::steady_clock::time_point since) const noexcept;

 protected:
  Clock() = default;
  Clock(const Clock&) = default;
  Clock& operator=(const Clock&) = default;
};

// std::chrono's steady_clock and system_clock. Lives as long as the program.
const Clock& real_clock() noexcept;

}  // namespace lull
