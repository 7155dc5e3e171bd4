// train_mlp — a data-parallel training program that survives preemption.
//
//   mpirun -np 4 build/bin/train_mlp --ckpt-dir /tmp/ckpt --steps 500
//   lull run --ckpt-dir /tmp/ckpt -- mpirun -np 4 build/bin/train_mlp --steps 500
//
// Every rank holds the whole model (a small MLP), draws its own mini-batches
// from a synthetic data set made from --seed, and the gradients are averaged
// over the ranks through lull's communicator; Adam updates the weights. The
// weights, Adam's moments, each rank's random generator and data cursor are
// protected, so a preempted run resumed with the same command ends with
// bitwise the same weights as an uninterrupted one: the last line, `digest
// <hex>`, is a hash of them. Exit codes: 0 finished, 75 preempted, 74 a
// snapshot could not be written (lull/runtime.h), 1 failure.
#include <mpi.h>
#include <xxhash.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

#include "lull/collectives/communicator.h"
#include "lull/runtime.h"
#include "mlp.h"
#include "synthetic_data.h"

namespace {

struct Flags {
  std::uint64_t steps = 300;
  train_mlp::MlpShape shape;
  std::size_t batch = 32;
  std::size_t samples = 4096;
  std::uint64_t seed = 1;
  float learning_rate = 1e-3f;
  double step_ms = 0;
  std::uint64_t log_every = 0;
  std::string ckpt_dir;
  std::string job;
};

std::string digest_of(const std::vector<float>& params) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(params.data(), params.size() * sizeof(float))));
  return hex;
}

int train(const Flags& flags) {
  auto options = lull::RuntimeOptions::from_environment();
  if (!flags.ckpt_dir.empty()) options.ckpt_dir = flags.ckpt_dir;
  if (!flags.job.empty()) options.job = flags.job;
  lull::Runtime rt(std::move(options));
  lull::Communicator& comm = rt.communicator();

  const train_mlp::SyntheticData data(flags.samples, flags.shape.inputs, flags.seed);
  train_mlp::Mlp model(flags.shape, flags.seed);
  train_mlp::Adam adam(model.params.size());
  train_mlp::BatchSampler sampler(flags.seed, rt.rank());
  const std::uint64_t n = model.params.size();

  rt.protect_replicated("mlp.params", lull::DType::f32, {n}, model.params.data());
  rt.protect_replicated("adam.m", lull::DType::f32, {n}, adam.m.data());
  rt.protect_replicated("adam.v", lull::DType::f32, {n}, adam.v.data());
  rt.protect_bytes("data_cursor", &sampler.cursor, sizeof sampler.cursor);
  rt.protect_blob(
      "rng",
      [&] {
        const std::string s = sampler.save_rng();
        const auto* p = reinterpret_cast<const std::byte*>(s.data());
        return std::vector<std::byte>(p, p + s.size());
      },
      [&](std::span<const std::byte> b) { sampler.load_rng({reinterpret_cast<const char*>(b.data()), b.size()}); });

  std::uint64_t step = rt.restore();
  std::vector<float> grad(n), x, y;
  double loss = 0;
  while (step < flags.steps) {
    std::fill(grad.begin(), grad.end(), 0.0f);
    sampler.next(data, flags.batch, x, y);
    double squared_error = model.accumulate_gradient(x.data(), y.data(), flags.batch, grad);
    comm.allreduce(grad.data(), grad.size(), lull::DType::f32, lull::ReduceOp::sum);
    comm.allreduce(&squared_error, 1, lull::DType::f64, lull::ReduceOp::sum);
    const float inverse_ranks = 1.0f / static_cast<float>(rt.world_size());
    for (auto& g : grad) g *= inverse_ranks;
    adam.update(model.params, grad, step + 1, flags.learning_rate);
    loss = squared_error / static_cast<double>(flags.batch * static_cast<std::size_t>(rt.world_size()));
    ++step;
    if (flags.step_ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(flags.step_ms));
    if (rt.rank() == 0 && flags.log_every > 0 && step % flags.log_every == 0) {
      std::printf("step %llu loss %.6f\n", static_cast<unsigned long long>(step), loss);
      std::fflush(stdout);
    }
    if (rt.end_step(step) == lull::StepDecision::stop) {
      if (rt.exit_code() != lull::kExitPreempted) {
        if (rt.rank() == 0) std::fprintf(stderr, "train_mlp: %s\n", rt.exit_reason().c_str());
      } else if (rt.rank() == 0) {
        std::printf("preempted after step %llu; resume from snapshot step %llu with the same command\n",
                    static_cast<unsigned long long>(step),
                    static_cast<unsigned long long>(rt.last_committed_step().value_or(0)));
      }
      return rt.exit_code();
    }
  }
  const int code = rt.finish(flags.steps);
  if (rt.rank() == 0 && code == lull::kExitFinished) {
    std::printf("finished %llu steps on %d ranks, last loss %.6f\ndigest %s\n",
                static_cast<unsigned long long>(flags.steps), rt.world_size(), loss, digest_of(model.params).c_str());
    std::fflush(stdout);
  } else if (rt.rank() == 0) {
    // 74: the steps ran but their result is not saved; no digest to claim.
    std::fprintf(stderr, "train_mlp: %s\n", rt.exit_reason().c_str());
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"train_mlp: a data-parallel MLP that survives preemption (lull's example)"};
  app.add_option("--steps", flags.steps, "training steps in all")->capture_default_str();
  app.add_option("--hidden", flags.shape.hidden, "hidden units (sets the model size)")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--inputs", flags.shape.inputs, "input features")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch", flags.batch, "samples per rank per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--samples", flags.samples, "size of the synthetic data set")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", flags.seed, "seed of the data set, the initial weights and the batch order")
      ->capture_default_str();
  app.add_option("--lr", flags.learning_rate, "Adam's learning rate")->capture_default_str();
  app.add_option("--step-ms", flags.step_ms, "extra milliseconds of sleep per step (stands in for compute)")
      ->capture_default_str();
  app.add_option("--log-every", flags.log_every, "print the loss every N steps (rank 0; 0 = never)");
  app.add_option("--ckpt-dir", flags.ckpt_dir, "snapshot directory (default: LULL_CKPT_DIR)");
  app.add_option("--job", flags.job, "job name (default: LULL_JOB or \"job\")");
  CLI11_PARSE(app, argc, argv);
  try {
    return train(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_mlp: %s\n", e.what());
    return 1;
  }
}
