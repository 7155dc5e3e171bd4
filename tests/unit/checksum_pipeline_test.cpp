// ChecksumPipeline (white-box: an internal of lull_checkpoint): whatever
// pieces the bytes are fed in — empty ones, single bytes, sizes either side
// of the 256 KiB and 16 MiB thresholds the shard sink and source hand it,
// thousands of small ones — the digest is XXH3-64 of the bytes in feed
// order, computed here directly with xxHash; and one pipeline serves run
// after run, including after a run abandoned half-way.

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "checksum_pipeline.h"

namespace lull::detail {
namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;

// `size` deterministic, non-repeating bytes (splitmix64).
std::vector<unsigned char> bytes_of(std::size_t size, std::uint64_t seed) {
  std::vector<unsigned char> out(size);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < size; i += 8) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (std::size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<unsigned char>(z >> (8 * j));
  }
  return out;
}

std::uint64_t xxh3(const std::vector<unsigned char>& bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

// Feeds `buffer` to a new run of `pipeline` as consecutive pieces of `sizes`
// (which must add up to its size) and returns the run's digest.
std::uint64_t pipelined(ChecksumPipeline& pipeline, const std::vector<unsigned char>& buffer,
                        const std::vector<std::size_t>& sizes) {
  ChecksumPipeline::Run run(pipeline);
  std::size_t at = 0;
  for (std::size_t n : sizes) {
    run.feed(buffer.data() + at, n);
    at += n;
  }
  EXPECT_EQ(at, buffer.size()) << "the piece sizes do not cover the buffer";
  return run.finish();
}

std::size_t sum(const std::vector<std::size_t>& sizes) {
  std::size_t total = 0;
  for (std::size_t n : sizes) total += n;
  return total;
}

// Around the sink's background threshold (256 KiB) and the source's piece
// size (16 MiB), with empty and one-byte pieces between them.
const std::vector<std::size_t> kThresholdPieces = {
    0,          1,         0,        256 * kKiB - 1, 256 * kKiB, 256 * kKiB + 1, 1, 16 * kMiB - 1,
    16 * kMiB,  0,         16 * kMiB + 1, 7, 8 * kMiB, 0};

TEST(ChecksumPipeline, PiecesAroundTheThresholdsHashLikeTheWholeBuffer) {
  const auto buffer = bytes_of(sum(kThresholdPieces), 1);
  ChecksumPipeline pipeline;
  EXPECT_EQ(pipelined(pipeline, buffer, kThresholdPieces), xxh3(buffer));
}

TEST(ChecksumPipeline, EachPieceSizeAloneHashesLikeXxh3) {
  ChecksumPipeline pipeline;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, 256 * kKiB - 1, 256 * kKiB, 256 * kKiB + 1,
                        16 * kMiB - 1, 16 * kMiB, 16 * kMiB + 1}) {
    const auto buffer = bytes_of(n, n);
    EXPECT_EQ(pipelined(pipeline, buffer, {n}), xxh3(buffer)) << n << " bytes in one piece";
  }
}

TEST(ChecksumPipeline, ManySmallPiecesOfRandomSizes) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::size_t> size(0, 300);
  std::vector<std::size_t> sizes(20000);
  for (auto& n : sizes) n = size(rng);
  const auto buffer = bytes_of(sum(sizes), 2);
  ChecksumPipeline pipeline;
  EXPECT_EQ(pipelined(pipeline, buffer, sizes), xxh3(buffer));
}

TEST(ChecksumPipeline, PiecesAreHashedInTheOrderFed) {
  // Three parts of one buffer fed last-first: the digest is that of the
  // concatenation in feed order, not of the buffer.
  const auto buffer = bytes_of(3 * (256 * kKiB + 1), 3);
  const std::size_t part = buffer.size() / 3;
  std::vector<unsigned char> fed_order;
  for (int p = 2; p >= 0; --p) {
    const auto* begin = buffer.data() + static_cast<std::size_t>(p) * part;
    fed_order.insert(fed_order.end(), begin, begin + part);
  }
  ChecksumPipeline pipeline;
  ChecksumPipeline::Run run(pipeline);
  for (int p = 2; p >= 0; --p) run.feed(buffer.data() + static_cast<std::size_t>(p) * part, part);
  const std::uint64_t digest = run.finish();
  EXPECT_EQ(digest, xxh3(fed_order));
  EXPECT_NE(digest, xxh3(buffer));
}

TEST(ChecksumPipeline, IsReusableAcrossRuns) {
  ChecksumPipeline pipeline;
  const auto a = bytes_of(sum(kThresholdPieces), 4);
  const auto b = bytes_of(3 * kMiB + 5, 5);
  const std::vector<unsigned char> nothing;

  // A run fed nothing (the thread not even started yet) is XXH3 of nothing.
  EXPECT_EQ(pipelined(pipeline, nothing, {}), XXH3_64bits(nullptr, 0));
  EXPECT_EQ(pipelined(pipeline, a, kThresholdPieces), xxh3(a));
  // The next run starts from nothing, not from where the last one ended.
  EXPECT_EQ(pipelined(pipeline, b, {kMiB, 0, 2 * kMiB + 5}), xxh3(b));
  EXPECT_EQ(pipelined(pipeline, nothing, {0, 0}), XXH3_64bits(nullptr, 0));
  EXPECT_EQ(pipelined(pipeline, b, {b.size()}), xxh3(b));

  // A run abandoned after feeding (as when a read throws between pieces):
  // its destructor waits for the thread, and the next run is unaffected.
  {
    ChecksumPipeline::Run abandoned(pipeline);
    abandoned.feed(a.data(), 16 * kMiB + 1);
    abandoned.feed(b.data(), kMiB);
  }
  EXPECT_EQ(pipelined(pipeline, b, {256 * kKiB, b.size() - 256 * kKiB}), xxh3(b));

  // finish() twice gives the same digest.
  ChecksumPipeline::Run run(pipeline);
  run.feed(a.data(), a.size());
  const std::uint64_t first = run.finish();
  EXPECT_EQ(first, xxh3(a));
  EXPECT_EQ(run.finish(), first);
}

TEST(ChecksumPipeline, SeveralPipelinesAtOnceStayApart) {
  // One per shard file: each has its own thread and state.
  const auto a = bytes_of(16 * kMiB + 1, 6);
  const auto b = bytes_of(16 * kMiB - 1, 7);
  ChecksumPipeline pa;
  ChecksumPipeline pb;
  ChecksumPipeline::Run ra(pa);
  ChecksumPipeline::Run rb(pb);
  for (std::size_t at = 0; at < a.size(); at += kMiB) {
    ra.feed(a.data() + at, std::min(kMiB, a.size() - at));
    if (at < b.size()) rb.feed(b.data() + at, std::min(kMiB, b.size() - at));
  }
  EXPECT_EQ(ra.finish(), xxh3(a));
  EXPECT_EQ(rb.finish(), xxh3(b));
}

}  // namespace
}  // namespace lull::detail
