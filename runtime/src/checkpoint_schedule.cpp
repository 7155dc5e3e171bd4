#include "checkpoint_schedule.h"

namespace lull::detail {

CheckpointSchedule::CheckpointSchedule(std::uint64_t every_steps, double every_seconds, double now_seconds)
    : every_steps_(every_steps), every_seconds_(every_seconds), last_time_(now_seconds) {}

bool CheckpointSchedule::due_by_steps(std::uint64_t step) const noexcept {
  return every_steps_ > 0 && step > last_step_ && step % every_steps_ == 0;
}

bool CheckpointSchedule::due_by_time(double now_seconds) const noexcept {
  return every_seconds_ > 0 && now_seconds - last_time_ >= every_seconds_;
}

void CheckpointSchedule::committed(std::uint64_t step, double now_seconds) noexcept {
  last_step_ = step;
  last_time_ = now_seconds;
}

}  // namespace lull::detail
