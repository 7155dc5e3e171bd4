#pragma once
// CheckpointSchedule — when a periodic checkpoint is due on this rank.
// Reads the time from the Clock it is given; otherwise pure.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "lull/base/clock.h"
#include "young_daly_interval.h"

namespace lull::detail {

// The time-based trigger: every `every_seconds` (0 = off), or, `automatic`,
// Young/Daly's interval from the measured checkpoint cost and
// `mean_seconds_between_notices` (young_daly_interval.h).
struct TimeTrigger {
  double every_seconds = 0;
  bool automatic = false;
  double mean_seconds_between_notices = 0;  // 0: unknown
};

class CheckpointSchedule {
 public:
  // every_steps = 0 switches the step trigger off. The seconds count from
  // now. `clock` is borrowed: it must outlive this.
  CheckpointSchedule(std::uint64_t every_steps, const TimeTrigger& by_time, const Clock& clock);

  // Due after `step` completed by the step count (the same on every rank).
  bool due_by_steps(std::uint64_t step) const noexcept;
  // Due by this rank's clock: the interval has passed since the last
  // commit (rank clocks and measured costs differ: agree on it).
  bool due_by_time() const noexcept;
  // The time-based interval in force (0: none).
  double interval_seconds() const noexcept;

  // A snapshot of `step` was committed (or restored) now: both triggers
  // count from here. `cost_seconds`: what writing it took (none for a
  // restore). Returns, for the automatic interval, a line telling the new
  // interval and why when it changed by more than a tenth.
  std::optional<std::string> committed(std::uint64_t step, std::optional<double> cost_seconds = std::nullopt);

 private:
  std::uint64_t every_steps_;
  double every_seconds_;
  std::optional<YoungDalyInterval> automatic_;
  const Clock& clock_;
  std::uint64_t last_step_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace lull::detail
