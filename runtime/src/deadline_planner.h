#pragma once
// DeadlinePlanner — will a new snapshot be committed before the deadline?
//
// It remembers how long the last checkpoints took and how long a step
// takes, and answers with a margin: a preemption checkpoint that would run
// past the deadline is worse than none (the job is killed mid-write and the
// work since the previous snapshot is lost anyway, plus the time).
// Pure: the caller supplies durations and the clock.

#include <cstddef>
#include <deque>

namespace lull::detail {

class DeadlinePlanner {
 public:
  // safety: multiplier on the estimate; margin_seconds: added on top (the
  // exit itself, the scheduler's slack).
  explicit DeadlinePlanner(double safety = 1.5, double margin_seconds = 0.25);

  void record_checkpoint(double seconds);
  void record_step(double seconds);

  // Seconds a checkpoint is expected to take: the slowest of the recent
  // ones times the safety factor; with none recorded yet, `first_guess`.
  double checkpoint_estimate(double first_guess) const;
  double step_estimate() const noexcept { return step_seconds_; }

  // Seconds left after one more step and a checkpoint, if started `now`;
  // negative means it would not fit.
  double slack(double now_unix, double deadline_unix, double first_guess) const;

 private:
  static constexpr std::size_t kHistory = 4;
  double safety_;
  double margin_;
  std::deque<double> checkpoints_;
  double step_seconds_ = 0;
};

}  // namespace lull::detail
