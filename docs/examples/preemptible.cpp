// preemptible — a complete training program on lull's runtime, small enough
// to read in one go. README.md and docs/preemptible-programs.md show parts of
// this file; the test docs.example.preemptible builds it, runs it at 2 ranks,
// preempts it, resumes it and requires the same digest as a run that was
// never stopped (tests/docs/examples_test.py).
//
//   LULL_CKPT_DIR=/tmp/ckpt/p mpirun -np 2 build/bin/preemptible 200
//   lull run --ckpt-dir /tmp/ckpt/p -- mpirun -np 2 build/bin/preemptible 200
//
// The state: a weight vector every rank holds whole, a table whose rows are
// spread over the ranks, and each rank's random generator. A step moves the
// rows with some noise, sums them over the ranks (the allreduce every
// data-parallel step has) and moves the weights by the global mean. The
// last line on rank 0 is `digest <hex>`, a hash of the weights.
// Exit codes: 0 finished, 75 preempted (run the same command again to
// resume), 74 a snapshot the job needed could not be written, 1 failure.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "lull/collectives/communicator.h"
#include "lull/runtime.h"

namespace {

constexpr std::uint64_t kRows = 64, kCols = 16;  // the table's global shape

void train_one_step(std::vector<float>& w, std::vector<float>& table, std::mt19937_64& rng,
                    lull::Communicator& comm) {
  std::uniform_real_distribution<float> noise(-0.01f, 0.01f);
  std::vector<float> sums(kCols, 0.0f);
  for (std::size_t i = 0; i < table.size(); ++i) {
    table[i] = 0.9f * table[i] + 0.1f * w[i % kCols] + noise(rng);
    sums[i % kCols] += table[i];
  }
  comm.allreduce(sums.data(), sums.size(), lull::DType::f32, lull::ReduceOp::sum);
  for (std::uint64_t c = 0; c < kCols; ++c) w[c] = 0.5f * w[c] + 0.5f * sums[c] / kRows + 0.001f;
}

std::uint64_t fnv1a(std::span<const float> values) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::byte b : std::as_bytes(values)) h = (h ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ULL;
  return h;
}

int train(std::uint64_t total) {
  lull::Runtime rt(lull::RuntimeOptions::from_environment());  // every rank; MPI_COMM_WORLD
  const std::uint64_t first = kRows * rt.rank() / rt.world_size();
  const std::uint64_t rows = kRows * (rt.rank() + 1) / rt.world_size() - first;
  std::vector<float> w(kCols, 0.0f);
  std::vector<float> table(rows * kCols, 1.0f);
  std::mt19937_64 rng(static_cast<std::uint64_t>(rt.rank()));
  auto save_rng = [&rng] {
    std::ostringstream out;
    out << rng;
    const std::string text = out.str();
    const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
    return std::vector<std::byte>(bytes, bytes + text.size());
  };
  auto load_rng = [&rng](std::span<const std::byte> bytes) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    in >> rng;
  };

  rt.protect_replicated("w", lull::DType::f32, {kCols}, w.data());  // every rank holds it whole
  rt.protect("table", lull::DType::f32, {kRows, kCols},              // this rank's rows of it
             {first, 0}, {rows, kCols}, table.data());
  rt.protect_blob("rng", save_rng, load_rng);                        // rank-local state

  for (std::uint64_t step = rt.restore(); step < total;) {  // 0, or the step of the newest snapshot
    train_one_step(w, table, rng, rt.communicator());
    ++step;
    if (rt.end_step(step) == lull::StepDecision::stop) return rt.exit_code();  // 75: preempted
  }
  const int code = rt.finish(total);  // 0; commits the final state (74 if it cannot)

  if (code == lull::kExitFinished && rt.rank() == 0) {
    std::printf("finished %llu steps on %d ranks\ndigest %016llx\n", static_cast<unsigned long long>(total),
                rt.world_size(), static_cast<unsigned long long>(fnv1a(w)));
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t total = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100;
  try {
    return train(total);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "preemptible: %s\n", e.what());
    return 1;
  }
}
