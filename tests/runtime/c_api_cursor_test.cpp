// The C API's sample cursor (lull.h) against lull::SampleCursor, in process:
// the same ids, step sizes, epochs and positions, step after step across
// epochs, for several data sets, seeds, global batches and world sizes.
// (tests/runtime/c_api_cursor.c checks the C side from C: misuse, the round
// trip through real snapshots, a restore at another world size.)
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "lull.h"
#include "lull/runtime/sample_cursor.h"

namespace lull {
namespace {

std::vector<std::uint64_t> c_rank_batch(const lull_cursor* cursor, std::uint64_t global_batch, int rank, int world) {
  std::size_t count = 0;
  EXPECT_EQ(lull_cursor_rank_batch(cursor, global_batch, rank, world, nullptr, 0, &count), LULL_OK)
      << lull_last_error();
  std::vector<std::uint64_t> ids(count);
  EXPECT_EQ(lull_cursor_rank_batch(cursor, global_batch, rank, world, ids.data(), ids.size(), &count), LULL_OK)
      << lull_last_error();
  return ids;
}

TEST(CApiSampleCursor, GivesTheSameIdsAsTheCxxCursor) {
  struct Case {
    std::uint64_t samples, seed, global_batch;
  };
  for (const Case c : {Case{1, 0, 1}, Case{7, 3, 2}, Case{100, 42, 16}, Case{257, 9, 33}, Case{1000, 1, 64}}) {
    SampleCursor expected(c.samples, c.seed);
    lull_cursor* cursor = nullptr;
    ASSERT_EQ(lull_cursor_create(c.samples, c.seed, &cursor), LULL_OK) << lull_last_error();
    const std::uint64_t steps = 3 * (c.samples / c.global_batch + 1);  // three epochs and a bit
    for (std::uint64_t step = 0; step < steps; ++step) {
      std::uint64_t size = 0, epoch = 0, position = 0;
      ASSERT_EQ(lull_cursor_step_size(cursor, c.global_batch, &size), LULL_OK);
      ASSERT_EQ(lull_cursor_epoch(cursor, &epoch), LULL_OK);
      ASSERT_EQ(lull_cursor_position(cursor, &position), LULL_OK);
      EXPECT_EQ(size, expected.step_size(c.global_batch));
      EXPECT_EQ(epoch, expected.epoch());
      EXPECT_EQ(position, expected.position());
      for (int world : {1, 2, 3, 4}) {
        for (int rank = 0; rank < world; ++rank) {
          EXPECT_EQ(c_rank_batch(cursor, c.global_batch, rank, world), expected.rank_batch(c.global_batch, rank, world))
              << c.samples << " samples, seed " << c.seed << ", step " << step << ", rank " << rank << " of " << world;
        }
      }
      ASSERT_EQ(lull_cursor_advance(cursor, c.global_batch), LULL_OK);
      expected.advance(c.global_batch);
    }
    lull_cursor_destroy(cursor);
  }
}

}  // namespace
}  // namespace lull
