#include "checkpoint_schedule.h"

#include <fmt/format.h>

namespace lull::detail {

CheckpointSchedule::CheckpointSchedule(std::uint64_t every_steps, const TimeTrigger& by_time, const Clock& clock)
    : every_steps_(every_steps),
      every_seconds_(by_time.every_seconds),
      clock_(clock),
      last_time_(clock.steady_now()) {
  if (by_time.automatic) automatic_.emplace(by_time.mean_seconds_between_notices);
}

bool CheckpointSchedule::due_by_steps(std::uint64_t step) const noexcept {
  return every_steps_ > 0 && step > last_step_ && step % every_steps_ == 0;
}

double CheckpointSchedule::interval_seconds() const noexcept {
  return automatic_ ? automatic_->seconds() : every_seconds_;
}

bool CheckpointSchedule::due_by_time() const noexcept {
  const double interval = interval_seconds();
  return interval > 0 && clock_.seconds_since(last_time_) >= interval;
}

std::optional<std::string> CheckpointSchedule::committed(std::uint64_t step, std::optional<double> cost_seconds) {
  last_step_ = step;
  last_time_ = clock_.steady_now();
  if (!automatic_ || !cost_seconds || !automatic_->record_cost(*cost_seconds)) return std::nullopt;
  return fmt::format(
      "checkpoint interval now {:.1f} s (sqrt(2 x cost {:.3f} s x mean time between notices {:.0f} s), "
      "within {:.0f}..{:.0f} s)",
      automatic_->seconds(), automatic_->cost_seconds(), automatic_->mean_seconds_between_notices(),
      YoungDalyInterval::kMinSeconds, YoungDalyInterval::kMaxSeconds);
}

}  // namespace lull::detail
