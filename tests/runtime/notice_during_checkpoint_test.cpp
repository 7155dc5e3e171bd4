// A preemption notice that arrives while a periodic checkpoint is being
// written: lull::Runtime over one in-process rank (no MPI), real snapshot
// files, a real SIGUSR1 raised from inside the checkpoint. The job must stop
// at that very step on the snapshot just committed, not write another one.
//
// The notice flag is process-wide and stays set (a notice cannot be taken
// back), so this file holds the binary's only test that raises it.

#include <gtest/gtest.h>

#include <csignal>
#include <cstddef>
#include <string>
#include <vector>

#include "lull/checkpoint.h"
#include "lull/runtime.h"
#include "support/solo_communicator.h"
#include "support/test_process.h"

namespace lull {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Runtime, ANoticeDuringAPeriodicCheckpointStopsOnThatSnapshot) {
  test::ScratchDir dir("notice-during-checkpoint");
  test::SoloCommunicator comm;
  RuntimeOptions options;
  options.job = "unit";
  options.ckpt_dir = dir.path() / "ckpt";
  options.every_steps = 2;
  options.notice_signals = {SIGUSR1};

  std::vector<std::byte> state(256, std::byte{1});
  int saves = 0;
  {
    Runtime rt(options, comm);
    rt.protect_blob(
        "state",
        [&] {
          ++saves;
          if (saves == 2) std::raise(SIGUSR1);  // while step 4's snapshot is being written
          return state;
        },
        [&](std::span<const std::byte> stored) { state.assign(stored.begin(), stored.end()); });
    ASSERT_EQ(rt.restore(), 0u);
    std::uint64_t step = 0;
    StepDecision decision = StepDecision::proceed;
    while (decision == StepDecision::proceed && step < 10) {
      state[0] = static_cast<std::byte>(++step);
      decision = rt.end_step(step);
    }
    EXPECT_EQ(decision, StepDecision::stop);
    EXPECT_EQ(step, 4u) << "stopped at another step than the one whose checkpoint saw the notice";
    EXPECT_EQ(saves, 2) << "a snapshot after the notice: the one just committed was enough";
    EXPECT_EQ(rt.exit_code(), kExitPreempted);
    EXPECT_EQ(rt.last_committed_step(), 4u);
    EXPECT_TRUE(contains(rt.exit_reason(), "a preemption notice came during the checkpoint")) << rt.exit_reason();
    EXPECT_TRUE(contains(rt.exit_reason(), "stopping at step 4 on a committed snapshot")) << rt.exit_reason();
  }

  // What a rerun resumes from: step 4, committed, with step 4's state.
  StoreOptions read_only;
  read_only.create = false;
  SnapshotStore store(options.ckpt_dir, read_only);
  const auto committed = store.committed();
  ASSERT_FALSE(committed.empty());
  EXPECT_EQ(committed.front().step, 4u);
  SnapshotReader reader = store.open_step(4, Verification::full, "unit");
  const std::vector<std::byte> saved = reader.read_blob(0, "state");
  ASSERT_EQ(saved.size(), state.size());
  EXPECT_EQ(saved[0], std::byte{4});
}

}  // namespace
}  // namespace lull
