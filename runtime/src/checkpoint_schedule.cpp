#include "checkpoint_schedule.h"

namespace lull::detail {

CheckpointSchedule::CheckpointSchedule(std::uint64_t every_steps, double every_seconds, const Clock& clock)
    : every_steps_(every_steps), every_seconds_(every_seconds), clock_(clock), last_time_(clock.steady_now()) {}

bool CheckpointSchedule::due_by_steps(std::uint64_t step) const noexcept {
  return every_steps_ > 0 && step > last_step_ && step % every_steps_ == 0;
}

bool CheckpointSchedule::due_by_time() const noexcept {
  return every_seconds_ > 0 && clock_.seconds_since(last_time_) >= every_seconds_;
}

void CheckpointSchedule::committed(std::uint64_t step) noexcept {
  last_step_ = step;
  last_time_ = clock_.steady_now();
}

}  // namespace lull::detail
