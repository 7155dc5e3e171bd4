#pragma once
// CheckpointSchedule — when a periodic checkpoint is due on this rank.
// Reads the time from the Clock it is given; otherwise pure.

#include <chrono>
#include <cstdint>

#include "lull/base/clock.h"

namespace lull::detail {

class CheckpointSchedule {
 public:
  // every_steps = 0 and every_seconds = 0 switch the respective trigger off.
  // The seconds count from now. `clock` is borrowed: it must outlive this.
  CheckpointSchedule(std::uint64_t every_steps, double every_seconds, const Clock& clock);

  // Due after `step` completed by the step count (the same on every rank).
  bool due_by_steps(std::uint64_t step) const noexcept;
  // Due by this rank's clock: every_seconds have passed since the last
  // commit (rank clocks differ: agree on it).
  bool due_by_time() const noexcept;

  // A snapshot of `step` was committed (or restored) now: both triggers
  // count from here.
  void committed(std::uint64_t step) noexcept;

 private:
  std::uint64_t every_steps_;
  double every_seconds_;
  const Clock& clock_;
  std::uint64_t last_step_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace lull::detail
