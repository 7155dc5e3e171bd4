// late_runtime_job: a training program that spends --start-seconds before it
// builds its Runtime, as a Python rank spends seconds in `import torch`, for
// the tests of preemption notices that come at any moment
// (notice_anytime_test.py). Deterministic: the same --steps end with the same
// last line, "digest <hex>" (rank 0), however often it was preempted.
//
//   late_runtime_job [--start-seconds S] [--steps N] [--step-ms M] [--probe-read]
//
// Each step adds an allreduce of every rank's pseudo-random numbers to a
// replicated vector; the per-rank generator is protected too. With
// --probe-read, each step instead waits --step-ms in a blocking read() of a
// pipe that another thread writes to: a notice signal arriving then must not
// interrupt it (lull's handlers use SA_RESTART). A read that fails with EINTR
// is reported as "read() interrupted by a signal" and the program exits 3.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "lull/collectives/communicator.h"
#include "lull/runtime.h"

namespace {

struct Flags {
  double start_seconds = 0;
  std::uint64_t steps = 200;
  int step_ms = 5;
  bool probe_read = false;
};

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string digest_of(const std::vector<double>& values) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a over the bytes
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  for (std::size_t i = 0; i < values.size() * sizeof(double); ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

// Blocks in read() for about `ms`, as a program waiting on a socket does.
// False when a signal interrupted it.
bool wait_in_read(int ms) {
  int fds[2];
  if (::pipe(fds) != 0) return true;
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    const char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(fds[1], &byte, 1);
  });
  char byte = 0;
  const ssize_t got = ::read(fds[0], &byte, 1);
  const bool interrupted = got < 0 && errno == EINTR;
  writer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  return !interrupted;
}

int train(const Flags& flags) {
  // The program's "imports": nothing of lull's Runtime exists yet.
  std::this_thread::sleep_for(std::chrono::duration<double>(flags.start_seconds));
  lull::Runtime rt(lull::RuntimeOptions::from_environment());
  lull::Communicator& comm = rt.communicator();
  std::vector<double> weights(512, 0.0);
  std::uint64_t generator = 0x1234u + static_cast<std::uint64_t>(rt.rank());
  rt.protect_replicated("weights", lull::DType::f64, {weights.size()}, weights.data());
  rt.protect_bytes("generator", &generator, sizeof generator);

  std::vector<double> update(weights.size());
  for (std::uint64_t step = rt.restore(); step < flags.steps;) {
    for (double& u : update) u = static_cast<double>(splitmix64(generator) >> 11) * 0x1.0p-53;
    comm.allreduce(update.data(), update.size(), lull::DType::f64, lull::ReduceOp::sum);
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = 0.999 * weights[i] + 0.01 * update[i];
    if (flags.probe_read) {
      if (!wait_in_read(flags.step_ms)) {
        std::fprintf(stderr, "late_runtime_job: read() interrupted by a signal at step %llu\n",
                     static_cast<unsigned long long>(step));
        return 3;
      }
    } else if (flags.step_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(flags.step_ms));
    }
    ++step;
    if (rt.end_step(step) == lull::StepDecision::stop) {
      if (rt.rank() == 0) {
        std::printf("preempted after step %llu\n", static_cast<unsigned long long>(step));
        std::fflush(stdout);
      }
      return rt.exit_code();
    }
  }
  const int code = rt.finish(flags.steps);
  if (rt.rank() == 0 && code == lull::kExitFinished) std::printf("digest %s\n", digest_of(weights).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--start-seconds" && has_value) flags.start_seconds = std::stod(argv[++i]);
    else if (arg == "--steps" && has_value) flags.steps = std::stoull(argv[++i]);
    else if (arg == "--step-ms" && has_value) flags.step_ms = std::stoi(argv[++i]);
    else if (arg == "--probe-read") flags.probe_read = true;
    else {
      std::fprintf(stderr, "late_runtime_job: unknown or incomplete argument %s\n", arg.c_str());
      return 2;
    }
  }
  try {
    return train(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "late_runtime_job: %s\n", e.what());
    return 1;
  }
}
