#pragma once
// YoungDalyInterval — the periodic checkpoint interval of
// LULL_EVERY_SECONDS=auto: the one that loses the least training time to
// checkpoints and to work redone after an interruption, Young's first-order
// optimum (Daly's, to first order)
//     interval = sqrt(2 * C * M)
// with C the cost of one checkpoint (the training stalls for it: measured,
// the mean of the last four) and M the mean time between interruptions that
// lose the work since the last snapshot. lull takes M from
// LULL_MEAN_SECONDS_BETWEEN_NOTICES (the arbiter sets it from the
// preemptions it observed of the job's class) or, unknown, an hour.
// Bounded to [kMinSeconds, kMaxSeconds]: never a checkpoint every few
// moments whatever the cost, never more than an hour of work at stake.
// Before any cost is known the interval is kMinSeconds, so that the first
// checkpoint measures it. Pure.

#include <cstddef>
#include <deque>

namespace lull::detail {

class YoungDalyInterval {
 public:
  static constexpr double kMinSeconds = 2;
  static constexpr double kMaxSeconds = 3600;
  static constexpr double kDefaultMeanSecondsBetweenNotices = 3600;

  // mean_seconds_between_notices <= 0: unknown (the default above).
  explicit YoungDalyInterval(double mean_seconds_between_notices);

  // A checkpoint cost `seconds`. True when the interval moved by more than
  // a tenth (a change worth telling the user).
  bool record_cost(double seconds);

  double seconds() const noexcept { return seconds_; }
  double cost_seconds() const noexcept;  // the mean of the recorded costs (0: none yet)
  double mean_seconds_between_notices() const noexcept { return mean_between_; }

 private:
  static constexpr std::size_t kHistory = 4;
  double mean_between_;
  std::deque<double> costs_;
  double seconds_ = kMinSeconds;
};

}  // namespace lull::detail
