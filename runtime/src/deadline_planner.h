#pragma once
// DeadlinePlanner — will a new snapshot be committed before the deadline?
//
// It remembers how long the last checkpoints took and answers with a
// margin: a preemption checkpoint that would run past the deadline is worse
// than none (the job is killed mid-write, and the work since the previous
// snapshot is lost anyway, plus the time). Pure: the caller supplies the
// durations.

#include <cstddef>
#include <deque>

namespace lull::detail {

class DeadlinePlanner {
 public:
  // safety: multiplier on the estimate; margin_seconds: kept free before
  // the deadline for the exit itself and the scheduler's slack.
  explicit DeadlinePlanner(double safety = 1.5, double margin_seconds = 0.25);

  void record_checkpoint(double seconds);

  // Seconds a checkpoint is expected to take: the slowest of the recent
  // ones times the safety factor; with none recorded yet, `first_guess`
  // times the safety factor.
  double checkpoint_estimate(double first_guess) const;

  // Seconds needed before the deadline to start a checkpoint now: the
  // estimate plus the margin.
  double seconds_needed(double first_guess) const { return checkpoint_estimate(first_guess) + margin_; }

 private:
  static constexpr std::size_t kHistory = 4;
  double safety_;
  double margin_;
  std::deque<double> checkpoints_;
};

}  // namespace lull::detail
