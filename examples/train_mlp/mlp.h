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
  // Adds these `count` samples' share of the gradient of the mean squared
  // error over `mean_over` samples (the whole step's, on all ranks) to
  // `grad` (parameters() floats); x is row major, count x inputs. Returns
  // their summed squared error.
  double accumulate_gradient(const float* x, const float* y, std::size_t count, std::size_t mean_over,
                             std::vector<float>& grad) const;
  // Mean squared error over the whole data set (x: samples x inputs).
  double mean_squared_error(const std::vector<float>& x, const std::vector<float>& y) const;
};

// Adam's moments of the parameters [first, first + count), ZeRO-1 style:
// each rank keeps and updates its own slice; `step` counts updates (1-based).
struct Adam {
  Adam(std::size_t first_parameter, std::size_t count) : first(first_parameter), m(count, 0.0f), v(count, 0.0f) {}
  std::size_t first;
  std::vector<float> m;
  std::vector<float> v;
  // Updates params[first, first + count) from the whole gradient.
  void update(std::vector<float>& params, const std::vector<float>& grad, std::uint64_t step, float learning_rate);
};

}  // namespace train_mlp
