#pragma once
// SampleCursor — a data-parallel job's place in its data, the same whatever
// the number of ranks, so that a job resumed on another world size goes on
// where it stopped and takes each sample exactly once per epoch.
//
// An epoch visits the data set's samples 0..dataset_size-1 in an order drawn
// from (seed, epoch): a permutation, the same on every rank, every run and
// every machine (a Feistel network keyed by xxHash over the index, not a
// shuffle whose numbers depend on the standard library). The job's position
// is two numbers, the epoch and how many samples of it all ranks together
// have taken. A step takes the next `global_batch` samples of the order, or
// what is left of the epoch (a step never spans two epochs), and rank r of
// W takes its contiguous share of them: positions
// [step_start + floor(r*n/W), step_start + floor((r+1)*n/W)) of the n the
// step takes. So the samples of a step depend on the global batch, not on W:
// a job that keeps its global batch when its world size changes trains on
// the same batches, only split otherwise.
//
//   lull::SampleCursor cursor(data.size(), seed);
//   rt.protect_cursor("data.cursor", cursor);            // replicated state
//   rt.restore();                                       // any world size
//   for (...) {
//     for (std::uint64_t id : cursor.rank_batch(global_batch, rt.rank(), rt.world_size())) use(id);
//     ... gradients over cursor.step_size(global_batch) samples in all ...
//     cursor.advance(global_batch);                     // every rank, same argument
//   }
//
// Not thread-safe; each rank holds its own copy and they stay equal because
// every rank advances them alike.

#include <array>
#include <cstdint>
#include <vector>

namespace lull {

class SampleCursor {
 public:
  // The words the runtime protects (as one replicated i64[4] tensor):
  // dataset_size, seed, epoch, position.
  static constexpr std::size_t kStateWords = 4;

  // Throws Error(invalid_argument) when dataset_size is 0.
  SampleCursor(std::uint64_t dataset_size, std::uint64_t seed);

  std::uint64_t dataset_size() const noexcept { return dataset_size_; }
  std::uint64_t seed() const noexcept { return seed_; }
  std::uint64_t epoch() const noexcept { return state_[kEpoch]; }
  // Samples of the current epoch already taken, by all ranks together.
  std::uint64_t position() const noexcept { return state_[kPosition]; }

  // Samples the next step takes, by all ranks together: global_batch, or
  // what is left of the epoch. Throws Error(invalid_argument) for a
  // global_batch of 0, or when the restored state does not fit this data
  // set (see check_restored()).
  std::uint64_t step_size(std::uint64_t global_batch) const;
  // The sample ids (0..dataset_size-1) rank `rank` of `world_size` takes in
  // the next step (its share above; empty when the step has fewer samples
  // than ranks and this rank's share is nothing). Does not advance.
  std::vector<std::uint64_t> rank_batch(std::uint64_t global_batch, int rank, int world_size) const;
  // Moves past the next step; every rank calls it with the same argument.
  void advance(std::uint64_t global_batch);

  // The id of the sample at `position` of `epoch`'s order (a bijection of
  // 0..dataset_size-1 for each epoch).
  std::uint64_t sample_at(std::uint64_t epoch, std::uint64_t position) const noexcept;

  // Throws Error(invalid_argument) when the state restored into state()
  // belongs to another data set or seed, or is out of range. Called by
  // step_size(), rank_batch() and advance().
  void check_restored() const;

  // The protected words, for the runtime (Runtime::protect_cursor).
  std::array<std::uint64_t, kStateWords>& state() noexcept { return state_; }

 private:
  enum Word { kDatasetSize = 0, kSeed = 1, kEpoch = 2, kPosition = 3 };

  std::uint64_t dataset_size_;
  std::uint64_t seed_;
  std::array<std::uint64_t, kStateWords> state_;
  unsigned half_bits_;  // the permutation's domain is 2^(2*half_bits_) >= dataset_size
};

}  // namespace lull
