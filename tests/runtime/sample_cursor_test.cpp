// SampleCursor without MPI: each sample once per epoch whatever the world
// sizes before and after a resume, the same order for the same seed.
#include "lull/runtime/sample_cursor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <set>
#include <vector>

#include "lull/base/error.h"
#include "support/gtest_helpers.h"

namespace lull {
namespace {

using test::throws_error;

// One step of a job of `world` ranks: what every rank takes, then every
// rank's copy advanced alike.
std::vector<std::uint64_t> take_step(std::vector<SampleCursor>& ranks, std::uint64_t global_batch) {
  std::vector<std::uint64_t> taken;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    const auto ids = ranks[r].rank_batch(global_batch, static_cast<int>(r), static_cast<int>(ranks.size()));
    taken.insert(taken.end(), ids.begin(), ids.end());
  }
  for (auto& cursor : ranks) cursor.advance(global_batch);
  return taken;
}

// A job resumed at `world` ranks from the state `saved` (what a snapshot holds).
std::vector<SampleCursor> resume(SampleCursor saved, int world) {
  std::vector<SampleCursor> ranks(static_cast<std::size_t>(world), SampleCursor(saved.dataset_size(), saved.seed()));
  for (auto& cursor : ranks) cursor.state() = saved.state();
  return ranks;
}

TEST(SampleCursor, EachEpochIsAPermutationForManySizes) {
  for (std::uint64_t size : {1u, 2u, 3u, 5u, 16u, 17u, 100u, 255u, 256u, 257u, 1000u, 4099u}) {
    SampleCursor cursor(size, 7);
    for (std::uint64_t epoch : {0u, 1u, 9u}) {
      std::vector<std::uint64_t> order;
      for (std::uint64_t i = 0; i < size; ++i) order.push_back(cursor.sample_at(epoch, i));
      std::sort(order.begin(), order.end());
      std::vector<std::uint64_t> all(size);
      std::iota(all.begin(), all.end(), 0);
      EXPECT_EQ(order, all) << "size " << size << " epoch " << epoch;
    }
  }
}

TEST(SampleCursor, TheOrderIsTheSameForASeedAndDiffersBetweenSeedsAndEpochs) {
  const SampleCursor a(1000, 42), b(1000, 42), other_seed(1000, 43);
  std::vector<std::uint64_t> first, again, seeded, next_epoch;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    first.push_back(a.sample_at(0, i));
    again.push_back(b.sample_at(0, i));
    seeded.push_back(other_seed.sample_at(0, i));
    next_epoch.push_back(a.sample_at(1, i));
  }
  EXPECT_EQ(first, again);
  EXPECT_NE(first, seeded);
  EXPECT_NE(first, next_epoch);
  // Shuffled, not the identity or close to it: most samples move.
  std::size_t fixed = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) fixed += first[i] == i ? 1 : 0;
  EXPECT_LT(fixed, 20u);
  // The order is part of the snapshot's meaning (a resumed job continues
  // it): it must not drift between builds or machines unnoticed. XXH3's
  // output is a stable format, so these are the same everywhere.
  const std::vector<std::uint64_t> recorded{243, 722, 532, 124, 510, 832, 587, 643};
  EXPECT_EQ(std::vector<std::uint64_t>(first.begin(), first.begin() + 8), recorded);
}

TEST(SampleCursor, EachSampleOnceAcrossWorldSizes4Then2Then3) {
  // 1000 samples, global batch 96 (not a divisor: every epoch ends on a
  // short step); 4 ranks for 7 steps, 2 ranks for 13, 3 ranks for the rest
  // of 3 epochs.
  const std::uint64_t size = 1000, batch = 96;
  std::vector<SampleCursor> ranks = resume(SampleCursor(size, 3), 4);
  std::vector<std::vector<std::uint64_t>> epochs(3);
  std::uint64_t steps = 0;
  while (ranks.front().epoch() < 3) {
    if (steps == 7) ranks = resume(ranks.front(), 2);
    if (steps == 20) ranks = resume(ranks.front(), 3);
    const std::uint64_t epoch = ranks.front().epoch();
    const auto taken = take_step(ranks, batch);
    epochs[epoch].insert(epochs[epoch].end(), taken.begin(), taken.end());
    ++steps;
  }
  std::vector<std::uint64_t> all(size);
  std::iota(all.begin(), all.end(), 0);
  for (auto& epoch : epochs) {
    std::sort(epoch.begin(), epoch.end());
    EXPECT_EQ(epoch, all);
  }
  EXPECT_EQ(ranks.front().position(), 0u);
}

TEST(SampleCursor, TheBatchesDependOnTheGlobalBatchNotOnTheWorldSize) {
  std::vector<SampleCursor> four = resume(SampleCursor(500, 9), 4);
  std::vector<SampleCursor> three = resume(SampleCursor(500, 9), 3);
  for (int step = 0; step < 12; ++step) {
    auto a = take_step(four, 96);
    auto b = take_step(three, 96);
    EXPECT_EQ(a, b) << "step " << step;  // the same samples in the same order
  }
}

TEST(SampleCursor, AStepOfFewerSamplesThanRanksGivesSomeRanksNone) {
  SampleCursor cursor(10, 1);
  cursor.advance(8);  // 2 left in the epoch
  EXPECT_EQ(cursor.step_size(8), 2u);
  std::set<std::uint64_t> taken;
  std::size_t empty = 0;
  for (int r = 0; r < 4; ++r) {
    const auto ids = cursor.rank_batch(8, r, 4);
    empty += ids.empty() ? 1 : 0;
    taken.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(empty, 2u);
  cursor.advance(8);
  EXPECT_EQ(cursor.epoch(), 1u);
  EXPECT_EQ(cursor.position(), 0u);
}

TEST(SampleCursor, AStateOfAnotherDataSetOrSeedIsRefused) {
  SampleCursor cursor(100, 5);
  cursor.state() = SampleCursor(200, 5).state();
  EXPECT_TRUE(throws_error([&] { cursor.step_size(10); }, ErrorCode::invalid_argument, "data set of 200 samples",
                           "this program has 100 samples"));
  cursor.state() = SampleCursor(100, 6).state();
  EXPECT_TRUE(throws_error([&] { cursor.advance(10); }, ErrorCode::invalid_argument, "with seed 6", "with seed 5"));
  cursor.state() = SampleCursor(100, 5).state();
  cursor.state()[3] = 100;
  EXPECT_TRUE(throws_error([&] { cursor.rank_batch(10, 0, 1); }, ErrorCode::invalid_argument, "past the end"));
  EXPECT_TRUE(throws_error([] { SampleCursor empty(0, 1); }, ErrorCode::invalid_argument, "empty data set"));
  EXPECT_TRUE(throws_error([] { SampleCursor(10, 1).step_size(0); }, ErrorCode::invalid_argument, "global batch of 0"));
  EXPECT_TRUE(throws_error([] { SampleCursor(10, 1).rank_batch(4, 3, 3); }, ErrorCode::invalid_argument,
                           "rank 3 of a world of 3"));
}

}  // namespace
}  // namespace lull
