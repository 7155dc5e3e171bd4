#include "deadline_planner.h"

#include <algorithm>

namespace lull::detail {

DeadlinePlanner::DeadlinePlanner(double safety, double margin_seconds) : safety_(safety), margin_(margin_seconds) {}

void DeadlinePlanner::record_checkpoint(double seconds) {
  checkpoints_.push_back(seconds);
  if (checkpoints_.size() > kHistory) checkpoints_.pop_front();
}

double DeadlinePlanner::checkpoint_estimate(double first_guess) const {
  if (checkpoints_.empty()) return first_guess * safety_;
  return *std::max_element(checkpoints_.begin(), checkpoints_.end()) * safety_;
}

}  // namespace lull::detail
