#pragma once
// The train_mlp data set: `samples` random inputs and the outputs of a fixed
// random "teacher" function, generated from a seed (the same on every rank
// and every run), and a per-rank sampler whose state is part of the snapshot.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace train_mlp {

struct SyntheticData {
  SyntheticData(std::size_t samples, std::size_t inputs, std::uint64_t seed);
  std::size_t inputs;
  std::vector<float> x;  // samples x inputs
  std::vector<float> y;  // samples
  std::size_t size() const { return y.size(); }
};

// Draws mini-batches for one rank: sample indices from its own generator
// (seeded with seed and rank), counting the samples drawn (the data cursor).
class BatchSampler {
 public:
  BatchSampler(std::uint64_t seed, int rank) : rng_(seed * 1000003u + static_cast<std::uint64_t>(rank)) {}
  // Copies `batch` samples of `data` into x and y.
  void next(const SyntheticData& data, std::size_t batch, std::vector<float>& x, std::vector<float>& y);
  std::uint64_t cursor = 0;  // samples drawn so far

  // The generator's state as text (std::mt19937_64's stream format).
  std::string save_rng() const;
  void load_rng(const std::string& state);

 private:
  std::mt19937_64 rng_;
};

}  // namespace train_mlp
