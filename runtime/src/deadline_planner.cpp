#include "deadline_planner.h"

#include <algorithm>

namespace lull::detail {

DeadlinePlanner::DeadlinePlanner(double safety, double margin_seconds) : safety_(safety), margin_(margin_seconds) {}

void DeadlinePlanner::record_checkpoint(double seconds) {
  checkpoints_.push_back(seconds);
  if (checkpoints_.size() > kHistory) checkpoints_.pop_front();
}

void DeadlinePlanner::record_step(double seconds) {
  // Exponential average: steps vary little, and one slow step should not
  // make the planner panic.
  step_seconds_ = step_seconds_ == 0 ? seconds : 0.8 * step_seconds_ + 0.2 * seconds;
}

double DeadlinePlanner::checkpoint_estimate(double first_guess) const {
  if (checkpoints_.empty()) return first_guess * safety_;
  return *std::max_element(checkpoints_.begin(), checkpoints_.end()) * safety_;
}

double DeadlinePlanner::slack(double now_unix, double deadline_unix, double first_guess) const {
  return deadline_unix - now_unix - step_seconds_ - checkpoint_estimate(first_guess) - margin_;
}

}  // namespace lull::detail
