// A small job for watchdog_driver_test, run under a real mpirun:
//
//   watchdog_job ok|hang|kill [--rank R] [--at N] [--steps K]
//
// Each of K steps does what a training step does with the communicator: a
// blocking allreduce of 16 floats, then a non-blocking vote tested while
// "computing". At step N, rank R:
//   hang  blocks forever inside its allreduce (through the before_post hook):
//         no process dies, so only lull's watchdog can end the job — every
//         rank must exit with kExitCollectiveTimeout, logging what was pending;
//   kill  raise(SIGKILL)s itself: mpirun tears the job down, or the
//         survivors' watchdog does; either way nobody hangs.
// The timeout comes from LULL_COLLECTIVE_TIMEOUT (the default handler, which
// exits, is left in place). Prints "job finished" and exits 0 otherwise.

#include <mpi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "lull/base/log.h"
#include "lull/collectives/communicator.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: watchdog_job ok|hang|kill [--rank R] [--at N] [--steps K]\n");
    return 2;
  }
  const std::string mode = argv[1];
  int target_rank = 0;
  int at_step = 3;
  int steps = 10;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--rank") target_rank = value;
    else if (flag == "--at") at_step = value;
    else if (flag == "--steps") steps = value;
  }

  std::atomic<bool> hang_now{false};
  lull::CommunicatorOptions options;
  options.label = "job";
  options.before_post = [&](const lull::CollectiveCall& call) {
    if (hang_now.load() && call.operation == "allreduce") {
      std::fprintf(stderr, "rank %d: injected hang in allreduce #%llu\n", call.rank,
                   static_cast<unsigned long long>(call.sequence));
      std::fflush(stderr);
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  };
  // lull initializes MPI here (and would finalize it at exit).
  auto comm = lull::make_communicator("mpi", MPI_COMM_WORLD, options);
  lull::log::set_identity("watchdog_job", comm->rank());

  for (int step = 0; step < steps; ++step) {
    if (step == at_step && comm->rank() == target_rank) {
      if (mode == "kill") {
        std::fprintf(stderr, "rank %d: SIGKILL to myself at step %d\n", comm->rank(), step);
        std::fflush(stderr);
        std::raise(SIGKILL);
      }
      if (mode == "hang") hang_now = true;
    }
    std::array<float, 16> gradient{};
    gradient.fill(1.0f);
    comm->allreduce(gradient.data(), gradient.size(), lull::DType::f32, lull::ReduceOp::sum);
    auto vote = comm->start_allreduce(std::array<std::int64_t, 1>{step}, lull::ReduceOp::max);
    while (!vote.test()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  comm->barrier();
  if (comm->rank() == 0) std::printf("job finished\n");
  return 0;
}
