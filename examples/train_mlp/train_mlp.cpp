// train_mlp — a data-parallel training program that survives preemption,
// and resumes on another number of ranks.
//
//   mpirun -np 4 build/bin/train_mlp --ckpt-dir /tmp/ckpt --steps 500
//   lull run --ckpt-dir /tmp/ckpt -- mpirun -np 4 build/bin/train_mlp --steps 500
//
// Every rank holds the whole model (a small MLP); each step takes the next
// global batch of a synthetic data set in an order drawn per epoch
// (lull::SampleCursor), every rank its share of it, and the gradients are
// summed over the ranks through lull's communicator. Adam's moments are
// sharded ZeRO-1 style: each rank keeps and updates its own slice of the
// parameters, and the slices are gathered. Protected: the weights
// (replicated), Adam's moments (sharded), the data position (replicated),
// and per rank the input-noise generator and a count of samples trained on.
// A preempted run resumed with the same command on as many ranks ends with
// bitwise the same weights as an uninterrupted one: the last line, `digest
// <hex>`, is a hash of them. Resumed on another number of ranks it goes on
// with the same data order and, given --global-batch, the same batches (see
// docs/preemptible-programs.md, "Resuming on another number of ranks").
// Exit codes: 0 finished, 75 preempted, 74 a snapshot could not be written
// (lull/runtime.h), 1 failure.
#include <mpi.h>
#include <xxhash.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "lull/collectives/communicator.h"
#include "lull/runtime.h"
#include "lull/runtime/sample_cursor.h"
#include "mlp.h"
#include "synthetic_data.h"

namespace {

struct Flags {
  std::uint64_t steps = 300;
  train_mlp::MlpShape shape;
  std::size_t batch = 32;
  std::uint64_t global_batch = 0;
  std::size_t samples = 4096;
  std::uint64_t seed = 1;
  float learning_rate = 1e-3f;
  float input_noise = 0.01f;
  double step_ms = 0;
  std::uint64_t log_every = 0;
  std::string ckpt_dir;
  std::string job;
  std::string sample_log;
};

std::string digest_of(const std::vector<float>& params) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(params.data(), params.size() * sizeof(float))));
  return hex;
}

std::string as_text(std::span<const std::byte> bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

// This rank's slice [first, first + count) of `n` parameters: equal slices of
// ceil(n / world), the last ones shorter or empty, so that they gather with
// one fixed-size allgather.
struct ParameterSlice {
  std::size_t chunk, first, count;
  ParameterSlice(std::size_t n, int rank, int world)
      : chunk((n + static_cast<std::size_t>(world) - 1) / static_cast<std::size_t>(world)),
        first(std::min(n, chunk * static_cast<std::size_t>(rank))),
        count(std::min(n, first + chunk) - first) {}
};

// Every rank's updated slice into every rank's copy of the parameters.
void gather_parameters(lull::Communicator& comm, const ParameterSlice& slice, std::vector<float>& params) {
  std::vector<float> mine(slice.chunk, 0.0f);
  std::copy_n(params.begin() + static_cast<std::ptrdiff_t>(slice.first), slice.count, mine.begin());
  std::vector<float> all(slice.chunk * static_cast<std::size_t>(comm.size()));
  comm.allgather(mine.data(), mine.size() * sizeof(float), all.data());
  std::copy_n(all.begin(), params.size(), params.begin());
}

int train(const Flags& flags) {
  auto options = lull::RuntimeOptions::from_environment();
  if (!flags.ckpt_dir.empty()) options.ckpt_dir = flags.ckpt_dir;
  if (!flags.job.empty()) options.job = flags.job;
  lull::Runtime rt(std::move(options));
  lull::Communicator& comm = rt.communicator();
  const int rank = rt.rank(), world = rt.world_size();

  const train_mlp::SyntheticData data(flags.samples, flags.shape.inputs, flags.seed);
  train_mlp::Mlp model(flags.shape, flags.seed);
  const std::uint64_t n = model.params.size();
  const ParameterSlice slice(n, rank, world);
  train_mlp::Adam adam(slice.first, slice.count);
  lull::SampleCursor cursor(data.size(), flags.seed);
  const std::uint64_t global_batch =
      flags.global_batch > 0 ? flags.global_batch : flags.batch * static_cast<std::uint64_t>(world);
  train_mlp::InputNoise noise(flags.seed, rank);
  std::uint64_t samples_trained = 0;  // by this rank

  rt.protect_replicated("mlp.params", lull::DType::f32, {n}, model.params.data());
  rt.protect("adam.m", lull::DType::f32, {n}, {slice.first}, {slice.count}, adam.m.data());
  rt.protect("adam.v", lull::DType::f32, {n}, {slice.first}, {slice.count}, adam.v.data());
  rt.protect_cursor("data.order", cursor);
  rt.protect_bytes("data_cursor", &samples_trained, sizeof samples_trained);
  rt.protect_blob(
      "rng",
      [&] {
        const std::string s = noise.save();
        const auto* p = reinterpret_cast<const std::byte*>(s.data());
        return std::vector<std::byte>(p, p + s.size());
      },
      [&](std::span<const std::byte> b) { noise.load(as_text(b)); });

  std::uint64_t step = rt.restore();
  const int old_world = rt.restored_world_size();
  if (old_world != 0 && old_world != world) {
    // Another number of ranks wrote the snapshot, and lull left the
    // rank-local state to us. Rank r continues old rank r's noise stream
    // when there was one, and starts a stream of its own otherwise; the
    // count of samples trained is kept whole, on rank 0.
    if (rank < old_world) {
      noise.load(as_text(rt.restored_blob("rng", rank)));
    } else {
      noise = train_mlp::InputNoise(flags.seed, rank, step);
    }
    samples_trained = 0;
    if (rank == 0) {
      for (int old = 0; old < old_world; ++old) {
        std::uint64_t count = 0;
        const auto bytes = rt.restored_blob("data_cursor", old);
        if (bytes.size() != sizeof count) throw std::runtime_error("train_mlp: blob data_cursor has the wrong size");
        std::memcpy(&count, bytes.data(), sizeof count);
        samples_trained += count;
      }
    }
  }

  std::ofstream sample_log;
  if (!flags.sample_log.empty()) sample_log.open(flags.sample_log + ".rank" + std::to_string(rank), std::ios::app);

  std::vector<float> grad(n), x, y;
  double loss = 0;
  while (step < flags.steps) {
    std::fill(grad.begin(), grad.end(), 0.0f);
    const std::uint64_t step_samples = cursor.step_size(global_batch);
    const std::vector<std::uint64_t> ids = cursor.rank_batch(global_batch, rank, world);
    if (sample_log.is_open()) {
      sample_log << step + 1 << ' ' << cursor.epoch();
      for (auto id : ids) sample_log << ' ' << id;
      sample_log << '\n';
    }
    data.gather(ids, x, y);
    noise.apply(x, flags.input_noise);
    double squared_error = model.accumulate_gradient(x.data(), y.data(), ids.size(), step_samples, grad);
    comm.allreduce(grad.data(), grad.size(), lull::DType::f32, lull::ReduceOp::sum);
    comm.allreduce(&squared_error, 1, lull::DType::f64, lull::ReduceOp::sum);
    adam.update(model.params, grad, step + 1, flags.learning_rate);
    gather_parameters(comm, slice, model.params);
    cursor.advance(global_batch);
    samples_trained += ids.size();
    loss = squared_error / static_cast<double>(step_samples);
    ++step;
    if (flags.step_ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(flags.step_ms));
    if (rank == 0 && flags.log_every > 0 && step % flags.log_every == 0) {
      std::printf("step %llu loss %.6f\n", static_cast<unsigned long long>(step), loss);
      std::fflush(stdout);
    }
    if (sample_log.is_open()) sample_log.flush();
    if (rt.end_step(step) == lull::StepDecision::stop) {
      if (rt.exit_code() != lull::kExitPreempted) {
        if (rank == 0) std::fprintf(stderr, "train_mlp: %s\n", rt.exit_reason().c_str());
      } else if (rank == 0) {
        std::printf("preempted after step %llu; resume from snapshot step %llu with the same command\n",
                    static_cast<unsigned long long>(step),
                    static_cast<unsigned long long>(rt.last_committed_step().value_or(0)));
      }
      return rt.exit_code();
    }
  }
  const int code = rt.finish(flags.steps);
  std::uint64_t all_samples = samples_trained;
  comm.allreduce(&all_samples, 1, lull::DType::i64, lull::ReduceOp::sum);
  if (rank == 0 && code == lull::kExitFinished) {
    std::printf("finished %llu steps on %d ranks, last loss %.6f\n", static_cast<unsigned long long>(flags.steps),
                world, loss);
    std::printf("epoch %llu position %llu samples trained %llu\n", static_cast<unsigned long long>(cursor.epoch()),
                static_cast<unsigned long long>(cursor.position()), static_cast<unsigned long long>(all_samples));
    std::printf("data set loss %.9f\ndigest %s\n", model.mean_squared_error(data.x, data.y),
                digest_of(model.params).c_str());
    std::fflush(stdout);
  } else if (rank == 0) {
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
  app.add_option("--batch", flags.batch, "samples per rank per step (when --global-batch is 0)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--global-batch", flags.global_batch,
                 "samples per step on all ranks together, the same at any world size (0 = ranks x --batch)")
      ->capture_default_str();
  app.add_option("--input-noise", flags.input_noise, "amplitude of the uniform noise added to inputs (per rank)")
      ->capture_default_str();
  app.add_option("--sample-log", flags.sample_log,
                 "append `step epoch id...` for each step to PATH.rank<r> (for tests: which samples each rank took)");
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
