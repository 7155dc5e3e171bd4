#include "mlp.h"

#include <cmath>
#include <random>

namespace train_mlp {

Mlp::Mlp(MlpShape s, std::uint64_t seed) : shape(s), params(s.parameters()) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float scale1 = 1.0f / std::sqrt(static_cast<float>(shape.inputs));
  const float scale2 = 1.0f / std::sqrt(static_cast<float>(shape.hidden));
  std::size_t i = 0;
  for (; i < shape.hidden * shape.inputs; ++i) params[i] = normal(rng) * scale1;
  for (; i < shape.hidden * shape.inputs + shape.hidden; ++i) params[i] = 0.0f;
  for (; i < params.size() - 1; ++i) params[i] = normal(rng) * scale2;
  params.back() = 0.0f;
}

float Mlp::predict(const float* x) const {
  const float* w1 = params.data();
  const float* b1 = w1 + shape.hidden * shape.inputs;
  const float* w2 = b1 + shape.hidden;
  float out = w2[shape.hidden];
  for (std::size_t h = 0; h < shape.hidden; ++h) {
    float a = b1[h];
    for (std::size_t j = 0; j < shape.inputs; ++j) a += w1[h * shape.inputs + j] * x[j];
    out += w2[h] * std::tanh(a);
  }
  return out;
}

double Mlp::accumulate_gradient(const float* x, const float* y, std::size_t count, std::size_t mean_over,
                                std::vector<float>& grad) const {
  const float* w1 = params.data();
  const float* b1 = w1 + shape.hidden * shape.inputs;
  const float* w2 = b1 + shape.hidden;
  float* g_w1 = grad.data();
  float* g_b1 = g_w1 + shape.hidden * shape.inputs;
  float* g_w2 = g_b1 + shape.hidden;
  float& g_b2 = g_w2[shape.hidden];
  std::vector<float> act(shape.hidden);
  double squared_error = 0;
  for (std::size_t n = 0; n < count; ++n) {
    const float* xn = x + n * shape.inputs;
    float out = w2[shape.hidden];
    for (std::size_t h = 0; h < shape.hidden; ++h) {
      float a = b1[h];
      for (std::size_t j = 0; j < shape.inputs; ++j) a += w1[h * shape.inputs + j] * xn[j];
      act[h] = std::tanh(a);
      out += w2[h] * act[h];
    }
    const float err = out - y[n];
    squared_error += static_cast<double>(err) * err;
    const float d_out = 2.0f * err / static_cast<float>(mean_over);
    g_b2 += d_out;
    for (std::size_t h = 0; h < shape.hidden; ++h) {
      g_w2[h] += d_out * act[h];
      const float d_a = d_out * w2[h] * (1.0f - act[h] * act[h]);
      g_b1[h] += d_a;
      for (std::size_t j = 0; j < shape.inputs; ++j) g_w1[h * shape.inputs + j] += d_a * xn[j];
    }
  }
  return squared_error;
}

void Adam::update(std::vector<float>& params, const std::vector<float>& grad, std::uint64_t step,
                  float learning_rate) {
  constexpr float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;
  const float correction1 = 1.0f - std::pow(beta1, static_cast<float>(step));
  const float correction2 = 1.0f - std::pow(beta2, static_cast<float>(step));
  for (std::size_t k = 0; k < m.size(); ++k) {
    const std::size_t i = first + k;
    m[k] = beta1 * m[k] + (1.0f - beta1) * grad[i];
    v[k] = beta2 * v[k] + (1.0f - beta2) * grad[i] * grad[i];
    const float m_hat = m[k] / correction1;
    const float v_hat = v[k] / correction2;
    params[i] -= learning_rate * m_hat / (std::sqrt(v_hat) + epsilon);
  }
}

double Mlp::mean_squared_error(const std::vector<float>& x, const std::vector<float>& y) const {
  double sum = 0;
  for (std::size_t n = 0; n < y.size(); ++n) {
    const double err = static_cast<double>(predict(x.data() + n * shape.inputs)) - y[n];
    sum += err * err;
  }
  return y.empty() ? 0.0 : sum / static_cast<double>(y.size());
}

}  // namespace train_mlp
