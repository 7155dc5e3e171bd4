#include "lull/runtime/sample_cursor.h"

#include <xxhash.h>

#include <string>

#include "lull/base/error.h"

namespace lull {

namespace {

constexpr int kFeistelRounds = 4;

unsigned half_bits_for(std::uint64_t size) {
  unsigned bits = 0;
  while (bits < 64 && (std::uint64_t{1} << bits) < size) ++bits;
  return bits == 0 ? 1 : (bits + 1) / 2;
}

}  // namespace

SampleCursor::SampleCursor(std::uint64_t dataset_size, std::uint64_t seed)
    : dataset_size_(dataset_size), seed_(seed), state_{dataset_size, seed, 0, 0}, half_bits_(half_bits_for(dataset_size)) {
  if (dataset_size == 0) throw Error(ErrorCode::invalid_argument, "a sample cursor over an empty data set");
}

void SampleCursor::check_restored() const {
  if (state_[kDatasetSize] != dataset_size_ || state_[kSeed] != seed_) {
    throw Error(ErrorCode::invalid_argument,
                "the restored data position is for a data set of " + std::to_string(state_[kDatasetSize]) +
                    " samples with seed " + std::to_string(state_[kSeed]) + ", this program has " +
                    std::to_string(dataset_size_) + " samples with seed " + std::to_string(seed_),
                {}, {}, "resume with the data set and seed the job started with");
  }
  if (state_[kPosition] >= dataset_size_) {
    throw Error(ErrorCode::invalid_argument, "the restored data position " + std::to_string(state_[kPosition]) +
                                                 " is past the end of the data set of " +
                                                 std::to_string(dataset_size_) + " samples");
  }
}

std::uint64_t SampleCursor::step_size(std::uint64_t global_batch) const {
  check_restored();
  if (global_batch == 0) throw Error(ErrorCode::invalid_argument, "a global batch of 0 samples");
  const std::uint64_t left = dataset_size_ - state_[kPosition];
  return global_batch < left ? global_batch : left;
}

std::vector<std::uint64_t> SampleCursor::rank_batch(std::uint64_t global_batch, int rank, int world_size) const {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw Error(ErrorCode::invalid_argument,
                "rank " + std::to_string(rank) + " of a world of " + std::to_string(world_size));
  }
  const std::uint64_t n = step_size(global_batch);
  // floor(r * n / w) without the product wrapping: n = q * w + m.
  const auto w = static_cast<std::uint64_t>(world_size);
  const auto share_start = [&](std::uint64_t r) { return r * (n / w) + r * (n % w) / w; };
  const std::uint64_t first = share_start(static_cast<std::uint64_t>(rank));
  const std::uint64_t end = share_start(static_cast<std::uint64_t>(rank) + 1);
  std::vector<std::uint64_t> ids;
  ids.reserve(end - first);
  for (std::uint64_t i = first; i < end; ++i) ids.push_back(sample_at(state_[kEpoch], state_[kPosition] + i));
  return ids;
}

void SampleCursor::advance(std::uint64_t global_batch) {
  state_[kPosition] += step_size(global_batch);
  if (state_[kPosition] == dataset_size_) {
    state_[kPosition] = 0;
    ++state_[kEpoch];
  }
}

// A balanced Feistel network on 2*half_bits_ bits is a permutation of
// [0, 2^(2*half_bits_)); walking the cycle until the value falls inside the
// data set restricts it to a permutation of [0, dataset_size) (the domain is
// less than 4 x dataset_size, so a few rounds on average).
std::uint64_t SampleCursor::sample_at(std::uint64_t epoch, std::uint64_t position) const noexcept {
  const std::uint64_t mask = (std::uint64_t{1} << half_bits_) - 1;
  std::uint64_t value = position;
  do {
    std::uint64_t left = value >> half_bits_;
    std::uint64_t right = value & mask;
    for (int round = 0; round < kFeistelRounds; ++round) {
      const std::uint64_t key[3] = {epoch, static_cast<std::uint64_t>(round), right};
      const std::uint64_t mixed = (left ^ XXH3_64bits_withSeed(key, sizeof key, seed_)) & mask;
      left = right;
      right = mixed;
    }
    value = (left << half_bits_) | right;
  } while (value >= dataset_size_);
  return value;
}

}  // namespace lull
