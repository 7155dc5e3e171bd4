#pragma once
// CheckpointSchedule — when a periodic checkpoint is due on this rank.
// Pure: the caller supplies the clock.

#include <cstdint>

namespace lull::detail {

class CheckpointSchedule {
 public:
  // every_steps = 0 and every_seconds = 0 switch the respective trigger off.
  CheckpointSchedule(std::uint64_t every_steps, double every_seconds, double now_seconds);

  // Due after `step` completed by the step count (the same on every rank).
  bool due_by_steps(std::uint64_t step) const noexcept;
  // Due by the clock at `now_seconds` (rank clocks differ: agree on it).
  bool due_by_time(double now_seconds) const noexcept;

  // A snapshot was committed at `step` at time `now_seconds`.
  void committed(std::uint64_t step, double now_seconds) noexcept;

 private:
  std::uint64_t every_steps_;
  double every_seconds_;
  std::uint64_t last_step_ = 0;
  double last_time_;
};

}  // namespace lull::detail
