// DeadlinePlanner on a clock the test moves: what it estimates from timed
// checkpoints, and whether a preemption checkpoint fits before a deadline.
// The checkpoints are real (a one-rank SnapshotCycle writing HDF5 files);
// only their duration comes from the test clock. No MPI, no sleeping.

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <vector>

#include "deadline_planner.h"
#include "device_staging.h"
#include "lull/checkpoint.h"
#include "snapshot_cycle.h"
#include "state_registry.h"
#include "support/manual_clock.h"
#include "support/solo_communicator.h"
#include "support/test_process.h"

namespace lull::detail {
namespace {

using namespace std::chrono_literals;

TEST(DeadlinePlanner, FirstGuessUntilACheckpointWasTimed) {
  test::ManualClock clock;
  DeadlinePlanner planner(clock, 1.5, 0.25);
  EXPECT_DOUBLE_EQ(planner.checkpoint_estimate(2.0), 3.0);
  EXPECT_DOUBLE_EQ(planner.seconds_needed(2.0), 3.25);
}

TEST(DeadlinePlanner, EstimatesTheSlowestOfTheLastFourTimesTheSafetyFactor) {
  test::ManualClock clock;
  DeadlinePlanner planner(clock, 1.5, 0.25);
  const double first_guess = 100;  // ignored once one checkpoint was timed
  const std::vector<std::pair<double, double>> timed_then_estimate = {
      {2.0, 3.0},   // [2]
      {8.0, 12.0},  // [2, 8]
      {1.0, 12.0},  // [2, 8, 1]
      {3.0, 12.0},  // [2, 8, 1, 3]
      {1.0, 12.0},  // [8, 1, 3, 1]: 2 falls out
      {1.0, 4.5},   // [1, 3, 1, 1]: 8 falls out, the slowest left is 3
  };
  for (const auto& [seconds, estimate] : timed_then_estimate) {
    planner.record_checkpoint(seconds);
    EXPECT_DOUBLE_EQ(planner.checkpoint_estimate(first_guess), estimate) << "after a checkpoint of " << seconds << " s";
    EXPECT_DOUBLE_EQ(planner.seconds_needed(first_guess), estimate + 0.25);
  }
}

TEST(DeadlinePlanner, FitsUntilExactlyTheEstimatePlusTheMarginIsLeft) {
  test::ManualClock clock;
  DeadlinePlanner planner(clock, 1.5, 0.25);
  planner.record_checkpoint(1.0);
  planner.record_checkpoint(2.0);  // estimate 3 s, needed 3.25 s
  const double deadline = clock.unix_seconds() + 10;

  CheckpointFit fit = planner.fit_before(deadline, 0.1);
  EXPECT_DOUBLE_EQ(fit.needed_seconds, 3.25);
  EXPECT_DOUBLE_EQ(fit.left_seconds, 10);
  EXPECT_DOUBLE_EQ(fit.slack_seconds(), 6.75);
  EXPECT_TRUE(fit.fits());

  clock.advance(6750ms);  // 3.25 s left: just enough
  fit = planner.fit_before(deadline, 0.1);
  EXPECT_DOUBLE_EQ(fit.left_seconds, 3.25);
  EXPECT_TRUE(fit.fits());

  clock.advance(1ms);  // inside the margin: exit on the previous snapshot instead
  fit = planner.fit_before(deadline, 0.1);
  EXPECT_FALSE(fit.fits());
  EXPECT_LT(fit.slack_seconds(), 0);

  clock.advance(1h);  // past the deadline
  EXPECT_LT(planner.fit_before(deadline, 0.1).left_seconds, 0);
}

TEST(DeadlinePlanner, LearnsFromCheckpointsTimedOnTheClock) {
  // Real one-rank snapshots; the state's save callback is where the test
  // clock moves, so each checkpoint "takes" exactly that long.
  test::ScratchDir dir("planner");
  test::ManualClock clock;
  test::SoloCommunicator comm;
  SnapshotStore store(dir.path() / "ckpt", StoreOptions{});
  auto staging = DeviceStaging::create();
  StateRegistry registry(*staging);
  std::vector<std::byte> state(64, std::byte{7});
  std::chrono::milliseconds write_takes{0};
  registry.add_blob({"state",
                     [&] {
                       clock.advance(write_takes);
                       return state;
                     },
                     [](std::span<const std::byte>) {}});

  DeadlinePlanner planner(clock, 1.5, 0.25);
  SnapshotCycle cycle(comm, store, clock);
  std::uint64_t step = 0;
  for (auto takes : {2000ms, 500ms, 3000ms}) {
    write_takes = takes;
    const CheckpointOutcome outcome = cycle.checkpoint(++step, registry, "job");
    ASSERT_TRUE(outcome.committed) << outcome.error;
    EXPECT_DOUBLE_EQ(outcome.seconds, std::chrono::duration<double>(takes).count());
    planner.record_checkpoint(outcome.seconds);
  }
  EXPECT_DOUBLE_EQ(planner.seconds_needed(0.1), 3.0 * 1.5 + 0.25);

  // A notice with 4.75 s left: the 3 s checkpoint, with the safety factor
  // and the margin, just fits; 10 ms later it does not.
  const double deadline = clock.unix_seconds() + 4.75;
  EXPECT_TRUE(planner.fit_before(deadline, 0.1).fits());
  clock.advance(10ms);
  EXPECT_FALSE(planner.fit_before(deadline, 0.1).fits());
}

}  // namespace
}  // namespace lull::detail
