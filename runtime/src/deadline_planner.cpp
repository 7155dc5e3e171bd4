#include "deadline_planner.h"

#include <algorithm>

namespace lull::detail {

DeadlinePlanner::DeadlinePlanner(const Clock& clock, double safety, double margin_seconds)
    : clock_(clock), safety_(safety), margin_(margin_seconds) {}

void DeadlinePlanner::record_checkpoint(double seconds) {
  checkpoints_.push_back(seconds);
  if (checkpoints_.size() > kHistory) checkpoints_.pop_front();
}

double DeadlinePlanner::checkpoint_estimate(double first_guess) const {
  if (checkpoints_.empty()) return first_guess * safety_;
  return *std::max_element(checkpoints_.begin(), checkpoints_.end()) * safety_;
}

CheckpointFit DeadlinePlanner::fit_before(double deadline_unix, double first_guess) const {
  return {seconds_needed(first_guess), deadline_unix - clock_.unix_seconds()};
}

}  // namespace lull::detail
