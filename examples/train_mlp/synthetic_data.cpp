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

void BatchSampler::next(const SyntheticData& data, std::size_t batch, std::vector<float>& x, std::vector<float>& y) {
  x.resize(batch * data.inputs);
  y.resize(batch);
  std::uniform_int_distribution<std::size_t> pick(0, data.size() - 1);
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t n = pick(rng_);
    for (std::size_t j = 0; j < data.inputs; ++j) x[b * data.inputs + j] = data.x[n * data.inputs + j];
    y[b] = data.y[n];
  }
  cursor += batch;
}

std::string BatchSampler::save_rng() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

void BatchSampler::load_rng(const std::string& state) {
  std::istringstream in(state);
  in >> rng_;
  if (!in) throw std::runtime_error("train_mlp: the stored random generator state is malformed");
}

}  // namespace train_mlp
