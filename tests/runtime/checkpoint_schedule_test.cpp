// CheckpointSchedule on a clock the test moves: no MPI, no sleeping.

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>

#include "checkpoint_schedule.h"
#include "support/manual_clock.h"

namespace lull::detail {
namespace {

using namespace std::chrono_literals;

TEST(CheckpointSchedule, DueEveryNSecondsExactlyOnTheTestClock) {
  test::ManualClock clock;
  CheckpointSchedule schedule(0, TimeTrigger{10.0}, clock);
  EXPECT_FALSE(schedule.due_by_time());
  clock.advance(10s - 1ns);
  EXPECT_FALSE(schedule.due_by_time()) << "due before 10 s passed";
  clock.advance(1ns);
  EXPECT_TRUE(schedule.due_by_time()) << "not due when 10 s passed";
  clock.advance(1h);
  EXPECT_TRUE(schedule.due_by_time()) << "stays due until a commit";

  schedule.committed(7);  // the timer counts from the commit, not from the last due
  EXPECT_FALSE(schedule.due_by_time());
  clock.advance(9500ms);
  EXPECT_FALSE(schedule.due_by_time());
  clock.advance(500ms);
  EXPECT_TRUE(schedule.due_by_time());
}

TEST(CheckpointSchedule, DueEveryNStepsOnceEach) {
  test::ManualClock clock;
  CheckpointSchedule schedule(5, TimeTrigger{}, clock);
  EXPECT_FALSE(schedule.due_by_steps(4));
  EXPECT_TRUE(schedule.due_by_steps(5));
  schedule.committed(5);
  EXPECT_FALSE(schedule.due_by_steps(5)) << "the snapshot of step 5 exists already";
  EXPECT_FALSE(schedule.due_by_steps(7));
  EXPECT_TRUE(schedule.due_by_steps(10));
  schedule.committed(12);  // a requested checkpoint off the grid; resumed runs start anywhere
  EXPECT_FALSE(schedule.due_by_steps(10));
  EXPECT_TRUE(schedule.due_by_steps(15));
}

TEST(CheckpointSchedule, ZeroSwitchesEachTriggerOff) {
  test::ManualClock clock;
  CheckpointSchedule schedule(0, TimeTrigger{}, clock);
  clock.advance(24h);
  EXPECT_FALSE(schedule.due_by_time());
  for (std::uint64_t step : {1u, 5u, 100u}) EXPECT_FALSE(schedule.due_by_steps(step));
}

TEST(CheckpointSchedule, AutomaticIntervalFollowsYoungDaly) {
  test::ManualClock clock;
  CheckpointSchedule schedule(0, TimeTrigger{0, true, 200}, clock);
  // No cost measured yet: the lower bound, so that the first checkpoint measures it.
  EXPECT_EQ(schedule.interval_seconds(), YoungDalyInterval::kMinSeconds);
  clock.advance(2s);
  EXPECT_TRUE(schedule.due_by_time());

  // A checkpoint of 1 s with a notice every 200 s on average: sqrt(2 * 1 * 200) = 20 s.
  const auto note = schedule.committed(1, 1.0);
  ASSERT_TRUE(note.has_value()) << "a change from 2 s to 20 s is told";
  EXPECT_NE(note->find("checkpoint interval now 20.0 s"), std::string::npos) << *note;
  EXPECT_NE(note->find("cost 1.000 s"), std::string::npos) << *note;
  EXPECT_NE(note->find("200 s"), std::string::npos) << *note;
  EXPECT_DOUBLE_EQ(schedule.interval_seconds(), 20.0);
  clock.advance(19s);
  EXPECT_FALSE(schedule.due_by_time());
  clock.advance(1s);
  EXPECT_TRUE(schedule.due_by_time());

  // A cost that hardly moves the mean is not told again; the mean of the last four counts.
  EXPECT_FALSE(schedule.committed(2, 1.05).has_value());
  EXPECT_FALSE(schedule.committed(3, 0.95).has_value());
  EXPECT_FALSE(schedule.committed(4, 1.0).has_value());
  EXPECT_NEAR(schedule.interval_seconds(), 20.0, 1e-9);
  // Four costs of 4 s: sqrt(2 * 4 * 200) = 40 s (the 1 s ones have left the history).
  for (std::uint64_t step : {5u, 6u, 7u}) schedule.committed(step, 4.0);
  EXPECT_TRUE(schedule.committed(8, 4.0).has_value()) << "36.1 s -> 40 s is more than a tenth";
  EXPECT_DOUBLE_EQ(schedule.interval_seconds(), 40.0);
  // A restore (no cost) resets the timer and keeps the interval.
  EXPECT_FALSE(schedule.committed(9).has_value());
  EXPECT_DOUBLE_EQ(schedule.interval_seconds(), 40.0);
}

TEST(CheckpointSchedule, AutomaticIntervalStaysWithinItsBounds) {
  test::ManualClock clock;
  YoungDalyInterval tiny(1);  // sqrt(2 * 0.001 * 1) = 0.045 s
  tiny.record_cost(0.001);
  EXPECT_EQ(tiny.seconds(), YoungDalyInterval::kMinSeconds);
  YoungDalyInterval rare(1e9);  // a notice every 30 years: sqrt(2 * 10 * 1e9) = 141421 s
  rare.record_cost(10);
  EXPECT_EQ(rare.seconds(), YoungDalyInterval::kMaxSeconds);
  YoungDalyInterval unknown(0);  // not told: an hour between notices
  EXPECT_EQ(unknown.mean_seconds_between_notices(), YoungDalyInterval::kDefaultMeanSecondsBetweenNotices);
  unknown.record_cost(2);  // sqrt(2 * 2 * 3600) = 120 s
  EXPECT_DOUBLE_EQ(unknown.seconds(), 120.0);
  // A measurement that cannot be a duration changes nothing.
  EXPECT_FALSE(unknown.record_cost(-1));
  EXPECT_FALSE(unknown.record_cost(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_DOUBLE_EQ(unknown.seconds(), 120.0);
}

}  // namespace
}  // namespace lull::detail
