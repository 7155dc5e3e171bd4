// late_runtime_job: a training program that spends --start-seconds before it
// builds its Runtime, as a Python rank spends seconds in `import torch`, for
// the tests of preemption notices that come at any moment
// (notice_anytime_test.py). Deterministic: the same --steps end with the same
// last line, "digest <hex>" (rank 0), however often it was preempted.
//
//   late_runtime_job [--start-seconds S] [--steps N] [--step-ms M] [--probe-syscalls]
//
// Each step adds an allreduce of every rank's pseudo-random numbers to a
// replicated vector; the per-rank generator is protected too. With
// --probe-syscalls, each step instead waits --step-ms in poll() (which the
// kernel never restarts after a handler, SA_RESTART or not) and then read()
// on a pipe that another thread writes to, as a program waits on a socket:
// a notice signal arriving then must interrupt neither. A call that fails
// with EINTR is reported as "... interrupted by a signal" and the program
// exits 3.
#include <poll.h>
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
  bool probe_syscalls = false;
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

// Blocks in poll() for about `ms`, then in read(), as a program waiting on a
// socket does. The name of the call a signal interrupted, or null.
const char* wait_on_a_pipe(int ms) {
  int fds[2];
  if (::pipe(fds) != 0) return nullptr;
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    const char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(fds[1], &byte, 1);
  });
  const char* interrupted = nullptr;
  pollfd readable{fds[0], POLLIN, 0};
  if (::poll(&readable, 1, 60'000) < 0 && errno == EINTR) interrupted = "poll()";
  char byte = 0;
  if (::read(fds[0], &byte, 1) < 0 && errno == EINTR && interrupted == nullptr) interrupted = "read()";
  writer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  return interrupted;
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
    if (flags.probe_syscalls) {
      if (const char* call = wait_on_a_pipe(flags.step_ms)) {
        std::fprintf(stderr, "late_runtime_job: %s interrupted by a signal at step %llu\n", call,
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
    else if (arg == "--probe-syscalls") flags.probe_syscalls = true;
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
