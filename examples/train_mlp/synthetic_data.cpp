#include "synthetic_data.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace train_mlp {

SyntheticData::SyntheticData(std::size_t samples, std::size_t n_inputs, std::uint64_t seed)
    : inputs(n_inputs), x(samples * n_inputs), y(samples) {
  std::mt19937_64 rng(seed ^ 0x5eed5eed5eedULL);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> teacher(n_inputs);
  for (auto& t : teacher) t = uniform(rng);
  for (std::size_t n = 0; n < samples; ++n) {
    float dot = 0;
    for (std::size_t j = 0; j < n_inputs; ++j) {
      x[n * n_inputs + j] = uniform(rng);
      dot += teacher[j] * x[n * n_inputs + j];
    }
    y[n] = std::sin(3.0f * dot) + 0.1f * uniform(rng);
  }
}

void SyntheticData::gather(std::span<const std::uint64_t> ids, std::vector<float>& x_out,
                           std::vector<float>& y_out) const {
  x_out.resize(ids.size() * inputs);
  y_out.resize(ids.size());
  for (std::size_t b = 0; b < ids.size(); ++b) {
    const std::size_t n = ids[b];
    for (std::size_t j = 0; j < inputs; ++j) x_out[b * inputs + j] = x[n * inputs + j];
    y_out[b] = y[n];
  }
}

InputNoise::InputNoise(std::uint64_t seed, int rank, std::uint64_t step) {
  // seed_seq takes 32-bit words.
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(rank), static_cast<std::uint32_t>(step),
                    static_cast<std::uint32_t>(step >> 32)};
  rng_.seed(seq);
}

void InputNoise::apply(std::vector<float>& x, float amplitude) {
  std::uniform_real_distribution<float> uniform(-amplitude, amplitude);
  for (auto& value : x) value += uniform(rng_);
}

std::string InputNoise::save() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

void InputNoise::load(const std::string& state) {
  std::istringstream in(state);
  in >> rng_;
  if (!in) throw std::runtime_error("train_mlp: the stored random generator state is malformed");
}

}  // namespace train_mlp
