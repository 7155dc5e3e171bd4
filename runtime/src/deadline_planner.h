#pragma once
// DeadlinePlanner — will a new snapshot be committed before the deadline?
//
// It remembers how long the last checkpoints took and answers with a
// margin: a preemption checkpoint that would run past the deadline is worse
// than none (the job is killed mid-write, and the work since the previous
// snapshot is lost anyway, plus the time). Reads the time left from the
// Clock it is given; otherwise pure.

#include <cstddef>
#include <deque>

#include "lull/base/clock.h"

namespace lull::detail {

// The planner's answer for a checkpoint started now.
struct CheckpointFit {
  double needed_seconds = 0;  // the estimate plus the margin
  double left_seconds = 0;    // until the deadline, by the planner's clock
  double slack_seconds() const noexcept { return left_seconds - needed_seconds; }
  bool fits() const noexcept { return slack_seconds() >= 0; }
};

class DeadlinePlanner {
 public:
  // `clock` is borrowed (it must outlive this). safety: multiplier on the
  // estimate; margin_seconds: kept free before the deadline for the exit
  // itself and the scheduler's slack.
  explicit DeadlinePlanner(const Clock& clock, double safety = 1.5, double margin_seconds = 0.25);

  // A checkpoint took `seconds`, from its first write to its commit.
  void record_checkpoint(double seconds);

  // Seconds a checkpoint is expected to take: the slowest of the last four
  // times the safety factor; with none recorded yet, `first_guess` times
  // the safety factor.
  double checkpoint_estimate(double first_guess) const;

  // Seconds needed before the deadline to start a checkpoint now: the
  // estimate plus the margin.
  double seconds_needed(double first_guess) const { return checkpoint_estimate(first_guess) + margin_; }

  // Whether a checkpoint started now ends, with the margin, by
  // `deadline_unix` (seconds since the Unix epoch, the notice's deadline).
  CheckpointFit fit_before(double deadline_unix, double first_guess) const;

 private:
  static constexpr std::size_t kHistory = 4;
  const Clock& clock_;
  double safety_;
  double margin_;
  std::deque<double> checkpoints_;
};

}  // namespace lull::detail
