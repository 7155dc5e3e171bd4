#include "young_daly_interval.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lull::detail {

YoungDalyInterval::YoungDalyInterval(double mean_seconds_between_notices)
    : mean_between_(mean_seconds_between_notices > 0 ? mean_seconds_between_notices
                                                     : kDefaultMeanSecondsBetweenNotices) {}

double YoungDalyInterval::cost_seconds() const noexcept {
  if (costs_.empty()) return 0;
  return std::accumulate(costs_.begin(), costs_.end(), 0.0) / static_cast<double>(costs_.size());
}

bool YoungDalyInterval::record_cost(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return false;  // a clock that went wrong says nothing
  costs_.push_back(seconds);
  if (costs_.size() > kHistory) costs_.pop_front();
  const double before = seconds_;
  seconds_ = std::clamp(std::sqrt(2 * cost_seconds() * mean_between_), kMinSeconds, kMaxSeconds);
  return std::abs(seconds_ - before) > 0.1 * before;
}

}  // namespace lull::detail
