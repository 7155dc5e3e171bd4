// Commits that must not happen: a missing or failed rank report
// (Error(incomplete), the previous snapshot stays latest), reports of
// another step or world, shards that overlap, leave gaps or disagree
// (Error(invalid_argument)), and a retention below one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bad_input_fixture.h"
#include "lull/checkpoint.h"
#include "support/gtest_helpers.h"
#include "support/pattern.h"
#include "support/snapshot_spec.h"
#include "support/test_process.h"

namespace lull::test {
namespace {

// ---- commits that must not happen ------------------------------------------

class BadCommit : public BadInput {
 protected:
  // Step 2 written by 3 ranks; the test breaks the reports before committing.
  std::vector<ShardReport> step2_reports() { return write_all_ranks(store_, small_spec(), 2, 3); }

  void expect_previous_is_latest() {
    EXPECT_EQ(store_.committed().size(), 1u);
    EXPECT_EQ(store_.committed().front().step, 1u);
    std::vector<RejectedSnapshot> rejected;
    SnapshotReader reader = store_.open_latest(Verification::full, &rejected);
    EXPECT_EQ(reader.step(), 1u);
    EXPECT_TRUE(rejected.empty());
    EXPECT_EQ(join_lines(check_snapshot(reader, small_spec(), 1)), "");
    for (const auto& name : names_in(store_.dir())) {
      EXPECT_FALSE(name == step_dir_name(2)) << "step 2 became visible";
    }
  }
};

TEST_F(BadCommit, MissingRankReportIsIncomplete) {
  auto reports = step2_reports();
  reports.erase(reports.begin() + 2);
  EXPECT_TRUE(throws_error([&] { store_.commit(2, reports); }, ErrorCode::incomplete, "2"));
  expect_previous_is_latest();
}

TEST_F(BadCommit, NoReportsAtAllIsRefused) {
  try {
    store_.commit(2, {});
    ADD_FAILURE() << "a commit without any report succeeded";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::incomplete || e.code() == ErrorCode::invalid_argument)
        << error_code_name(e.code()) << ": " << e.what();
  }
  expect_previous_is_latest();
}

TEST_F(BadCommit, FailedRankReportIsIncompleteAndNamesTheReason) {
  auto reports = step2_reports();
  reports[1] = ShardReport::failure(2, 1, 3, "CUDA out of memory while copying");
  EXPECT_TRUE(throws_error([&] { store_.commit(2, reports); }, ErrorCode::incomplete, "1", "CUDA out of memory"));
  expect_previous_is_latest();
  // The next step commits normally.
  store_.commit(3, write_all_ranks(store_, small_spec(), 3, 3));
  EXPECT_EQ(store_.open_latest().step(), 3u);
}

TEST_F(BadCommit, ReportsOfAnotherStepOrWorldAreRejected) {
  auto reports = step2_reports();
  auto wrong_step = reports;
  wrong_step[1].step = 7;
  try {
    store_.commit(2, wrong_step);
    ADD_FAILURE() << "a report of step 7 was committed as step 2";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::incomplete) << e.what();
  }
  auto wrong_world = reports;
  wrong_world[2].world_size = 4;
  try {
    store_.commit(2, wrong_world);
    ADD_FAILURE() << "reports disagreeing on the world size were committed";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::incomplete) << e.what();
  }
  auto duplicate = reports;
  duplicate[2] = duplicate[1];
  try {
    store_.commit(2, duplicate);
    ADD_FAILURE() << "two reports of rank 1 and none of rank 2 were committed";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::incomplete) << e.what();
  }
  expect_previous_is_latest();
}

// Writes "t" as given boxes, one per rank, and commits.
void commit_boxes(const SnapshotStore& store, std::uint64_t step, const Shape& global,
                  const std::vector<std::pair<Shape, Shape>>& boxes, DType other_dtype = DType::u8,
                  int other_rank = -1, Shape other_global = {}) {
  std::vector<ShardReport> reports;
  const int world = static_cast<int>(boxes.size());
  for (int rank = 0; rank < world; ++rank) {
    SnapshotWriter writer = store.writer(step, rank, world);
    const auto& [offset, extent] = boxes[static_cast<std::size_t>(rank)];
    const bool odd = rank == other_rank;
    const DType type = odd ? other_dtype : DType::u8;
    const Shape shape = odd && !other_global.empty() ? other_global : global;
    const auto data = pattern_box(type, shape, offset, extent, 1);
    writer.write_tensor("t", type, shape, offset, extent, data.data());
    reports.push_back(writer.finish());
  }
  store.commit(step, reports);
}

TEST_F(BadCommit, OverlappingShardsAreInvalidArgument) {
  EXPECT_TRUE(throws_error([&] { commit_boxes(store_, 2, {10, 4}, {{{0, 0}, {6, 4}}, {{5, 0}, {5, 4}}}); },
                           ErrorCode::invalid_argument, "t"));
  // Same size in total as the tensor, but overlapping with a hole.
  EXPECT_TRUE(throws_error(
      [&] { commit_boxes(store_, 3, {4, 4}, {{{0, 0}, {2, 2}}, {{0, 0}, {2, 2}}, {{2, 0}, {2, 4}}, {{0, 2}, {2, 2}}}); },
      ErrorCode::invalid_argument, "t"));
  expect_previous_is_latest();
}

TEST_F(BadCommit, ShardsThatLeaveAGapAreInvalidArgument) {
  EXPECT_TRUE(throws_error([&] { commit_boxes(store_, 2, {10, 4}, {{{0, 0}, {4, 4}}, {{5, 0}, {5, 4}}}); },
                           ErrorCode::invalid_argument, "t"));
  EXPECT_TRUE(throws_error([&] { commit_boxes(store_, 3, {10, 4}, {{{0, 0}, {5, 4}}, {{5, 0}, {5, 3}}}); },
                           ErrorCode::invalid_argument, "t"));
  expect_previous_is_latest();
}

TEST_F(BadCommit, ShardsThatDisagreeOnDTypeOrShapeAreInvalidArgument) {
  EXPECT_TRUE(throws_error(
      [&] { commit_boxes(store_, 2, {10, 4}, {{{0, 0}, {5, 4}}, {{5, 0}, {5, 4}}}, DType::i8, 1); },
      ErrorCode::invalid_argument, "t"));
  EXPECT_TRUE(throws_error(
      [&] { commit_boxes(store_, 3, {10, 4}, {{{0, 0}, {5, 4}}, {{5, 0}, {5, 4}}}, DType::u8, 1, {12, 4}); },
      ErrorCode::invalid_argument, "t"));
  expect_previous_is_latest();
}

TEST_F(BadCommit, KeepBelowOneIsInvalidArgument) {
  CommitOptions options;
  options.keep = 0;
  const auto reports = step2_reports();
  EXPECT_TRUE(throws_error([&] { commit_snapshot(store_.dir(), 2, reports, options); }, ErrorCode::invalid_argument));
  expect_previous_is_latest();
}

}  // namespace
}  // namespace lull::test
