// CheckpointSchedule on a clock the test moves: no MPI, no sleeping.

#include <gtest/gtest.h>

#include <chrono>

#include "checkpoint_schedule.h"
#include "support/manual_clock.h"

namespace lull::detail {
namespace {

using namespace std::chrono_literals;

TEST(CheckpointSchedule, DueEveryNSecondsExactlyOnTheTestClock) {
  test::ManualClock clock;
  CheckpointSchedule schedule(0, 10.0, clock);
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
  CheckpointSchedule schedule(5, 0, clock);
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
  CheckpointSchedule schedule(0, 0, clock);
  clock.advance(24h);
  EXPECT_FALSE(schedule.due_by_time());
  for (std::uint64_t step : {1u, 5u, 100u}) EXPECT_FALSE(schedule.due_by_steps(step));
}

}  // namespace
}  // namespace lull::detail
