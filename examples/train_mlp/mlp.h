#pragma once
// A small multilayer perceptron (inputs -> tanh hidden layer -> 1 output)
// trained with Adam on mean squared error: the model of the train_mlp
// example. Plain single-threaded float code, so that the same inputs give
// bitwise the same weights on every run.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace train_mlp {

struct MlpShape {
  std::size_t inputs = 16;
  std::size_t hidden = 64;
  std::size_t parameters() const { return hidden * inputs + hidden + hidden + 1; }
};

// All trainable parameters in one flat array, so that gradients go through
// one allreduce: [w1 (hidden x inputs), b1 (hidden), w2 (hidden), b2 (1)].
struct Mlp {
  explicit Mlp(MlpShape shape, std::uint64_t seed);
  MlpShape shape;
  std::vector<float> params;

  float predict(const float* x) const;
  // Adds the gradient of the mean squared error over `count` samples (x row
  // major, count x inputs) to `grad` (parameters() floats) and returns the
  // summed squared error.
  double accumulate_gradient(const float* x, const float* y, std::size_t count, std::vector<float>& grad) const;
};

// Adam's moments, one per parameter; `step` counts updates (1-based).
struct Adam {
  explicit Adam(std::size_t parameters) : m(parameters, 0.0f), v(parameters, 0.0f) {}
  std::vector<float> m;
  std::vector<float> v;
  void update(std::vector<float>& params, const std::vector<float>& grad, std::uint64_t step, float learning_rate);
};

}  // namespace train_mlp
