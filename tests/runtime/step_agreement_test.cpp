// StepAgreement over one in-process rank, its votes from a CheckpointSchedule
// on a clock the test moves: when a vote is agreed, and the stale-vote rule.
// No MPI, no sleeping (what several ranks agree is tested under mpirun).

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "checkpoint_schedule.h"
#include "step_agreement.h"
#include "support/manual_clock.h"
#include "support/solo_communicator.h"

namespace lull::detail {
namespace {

using namespace std::chrono_literals;

Vote notice_with_deadline(double deadline_unix) {
  Vote v;
  v.notice = true;
  v.deadline_unix = deadline_unix;
  return v;
}

Vote due(bool checkpoint_due) {
  Vote v;
  v.checkpoint_due = checkpoint_due;
  return v;
}

TEST(StepAgreement, TheVoteOfAStepIsAgreedAtTheNext) {
  test::SoloCommunicator comm;
  StepAgreement agreement(comm);
  EXPECT_FALSE(agreement.vote(1, notice_with_deadline(1748779230.5)).has_value()) << "nothing agreed before step 2";
  const auto agreed = agreement.vote(2, Vote{});
  ASSERT_TRUE(agreed.has_value());
  EXPECT_EQ(agreed->step, 1u);
  EXPECT_TRUE(agreed->vote.notice);
  EXPECT_DOUBLE_EQ(agreed->vote.deadline_unix, 1748779230.5);  // milliseconds survive the encoding
  EXPECT_FALSE(agreed->vote.checkpoint_due);

  const auto next = agreement.vote(3, Vote{});
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->step, 2u);
  EXPECT_FALSE(next->vote.notice);

  agreement.drain();  // before the program stops: the votes in flight are completed and forgotten
  EXPECT_FALSE(agreement.vote(4, Vote{}).has_value());
}

TEST(StepAgreement, ATimedVoteCastBeforeTheLatestCommitIsStale) {
  // Every 10 s by this rank's clock. The vote of step 3 says "due"; before
  // it is agreed (at step 4), step 3's snapshot is committed (by the step
  // count, say) and resets the timer: the agreed vote must not cause a
  // second snapshot right after it.
  test::SoloCommunicator comm;
  test::ManualClock clock;
  CheckpointSchedule schedule(0, TimeTrigger{10.0}, clock);
  StepAgreement agreement(comm);

  agreement.vote(1, due(schedule.due_by_time()));
  clock.advance(5s);
  auto agreed = agreement.vote(2, due(schedule.due_by_time()));
  ASSERT_TRUE(agreed && !agreed->vote.checkpoint_due);
  clock.advance(5s);
  ASSERT_TRUE(schedule.due_by_time());
  agreed = agreement.vote(3, due(schedule.due_by_time()));  // "due", cast after step 3
  ASSERT_TRUE(agreed && !agreed->vote.checkpoint_due);      // step 2's

  schedule.committed(3);
  agreement.committed(3);
  agreed = agreement.vote(4, due(schedule.due_by_time()));
  ASSERT_TRUE(agreed.has_value());
  EXPECT_EQ(agreed->step, 3u);
  EXPECT_FALSE(agreed->vote.checkpoint_due) << "step 3's vote was cast before step 3's commit";

  // A vote cast after the commit counts again, once the timer says so.
  clock.advance(10s);
  agreed = agreement.vote(5, due(schedule.due_by_time()));  // "due", cast after the commit
  ASSERT_TRUE(agreed && agreed->step == 4u);
  EXPECT_FALSE(agreed->vote.checkpoint_due);
  agreed = agreement.vote(6, due(schedule.due_by_time()));
  ASSERT_TRUE(agreed.has_value());
  EXPECT_EQ(agreed->step, 5u);
  EXPECT_TRUE(agreed->vote.checkpoint_due);
}

TEST(StepAgreement, ANoticeIsNeverStale) {
  test::SoloCommunicator comm;
  StepAgreement agreement(comm);
  Vote both = notice_with_deadline(1748779260);
  both.checkpoint_due = true;
  agreement.vote(8, both);
  agreement.committed(8);  // e.g. a periodic snapshot of step 8
  const auto agreed = agreement.vote(9, Vote{});
  ASSERT_TRUE(agreed.has_value());
  EXPECT_TRUE(agreed->vote.notice) << "a notice must be acted on whatever was committed";
  EXPECT_DOUBLE_EQ(agreed->vote.deadline_unix, 1748779260);
  EXPECT_FALSE(agreed->vote.checkpoint_due);
}

TEST(StepAgreement, AgreeNowCombinesAtOnce) {
  test::SoloCommunicator comm;
  StepAgreement agreement(comm);
  const Vote agreed = agreement.agree_now(notice_with_deadline(1748779201.25));
  EXPECT_TRUE(agreed.notice);
  EXPECT_DOUBLE_EQ(agreed.deadline_unix, 1748779201.25);
}

}  // namespace
}  // namespace lull::detail
