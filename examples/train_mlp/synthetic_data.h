#pragma once
// The train_mlp data set: `samples` random inputs and the outputs of a fixed
// random "teacher" function, generated from a seed (the same on every rank
// and every run), and the rank-local input noise (a stand-in for the
// augmentation or dropout a real program draws from a per-rank generator).

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace train_mlp {

struct SyntheticData {
  SyntheticData(std::size_t samples, std::size_t inputs, std::uint64_t seed);
  std::size_t inputs;
  std::vector<float> x;  // samples x inputs
  std::vector<float> y;  // samples
  std::size_t size() const { return y.size(); }

  // Copies the samples `ids` into x (row major) and y.
  void gather(std::span<const std::uint64_t> ids, std::vector<float>& x_out, std::vector<float>& y_out) const;
};

// Adds small uniform noise to inputs from this rank's own generator, whose
// state is part of the snapshot (blob "rng").
class InputNoise {
 public:
  // A generator of its own for (seed, rank, step): the step makes a stream
  // started on resume differ from the one the same rank drew at step 0.
  InputNoise(std::uint64_t seed, int rank, std::uint64_t step = 0);
  void apply(std::vector<float>& x, float amplitude);

  // The generator's state as text (std::mt19937_64's stream format).
  std::string save() const;
  // Throws std::runtime_error when `state` is no such text.
  void load(const std::string& state);

 private:
  std::mt19937_64 rng_;
};

}  // namespace train_mlp
