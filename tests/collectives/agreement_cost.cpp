// The cost of the per-step agreement, the figure behind the runtime's "cost of
// end-of-step when nothing happens": a non-blocking allreduce of 2 int64
// values (max), as the runtime uses it, measured beside raw MPI.
//
//   mpirun -n N agreement_cost [--iterations K] [--step-us U] [--sleep 0|1]
//
// Prints, on rank 0, microseconds per call (median and mean over K):
//   lull.start+test_until_done   start_allreduce, then test() in a tight loop
//   raw.iallreduce+test          MPI_Iallreduce + MPI_Test loop (the limit)
//   raw.allreduce                blocking MPI_Allreduce
//   lull.end_of_step depth D     what end_step() pays when nothing happens:
//                                after each U µs busy "step", test() the
//                                votes in flight, wait() for the one started
//                                D steps ago, start the next; only the time
//                                inside lull counts
// and one JSON line with the same figures.

#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "lull/collectives/communicator.h"

namespace {

using Clock = std::chrono::steady_clock;

double us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Stats {
  double median = 0;
  double mean = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size())};
}

void busy(double microseconds) {
  auto end = Clock::now() + std::chrono::duration<double, std::micro>(microseconds);
  while (Clock::now() < end) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 2000;
  double step_us = 1000;
  bool sleeping_step = false;  // --sleep: the step sleeps (a CPU waiting on its GPU) instead of spinning
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--iterations") iterations = std::atoi(argv[i + 1]);
    if (flag == "--step-us") step_us = std::atof(argv[i + 1]);
    if (flag == "--sleep") sleeping_step = std::atoi(argv[i + 1]) != 0;
  }
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  std::vector<double> lull_tight, raw_nb, raw_blocking;
  struct EndOfStep {
    int depth;
    Stats cost;
    double ready_fraction;
  };
  std::vector<EndOfStep> end_of_step;
  {
    auto comm = lull::make_communicator("mpi", MPI_COMM_WORLD);
    std::array<std::int64_t, 2> values{0, rank};
    for (int warm = 0; warm < 100; ++warm) comm->start_allreduce(values, lull::ReduceOp::max).wait();

    comm->barrier();
    for (int i = 0; i < iterations; ++i) {
      auto t0 = Clock::now();
      auto vote = comm->start_allreduce(values, lull::ReduceOp::max);
      while (!vote.test()) {
      }
      lull_tight.push_back(us(Clock::now() - t0));
    }

    comm->barrier();
    for (int i = 0; i < iterations; ++i) {
      auto t0 = Clock::now();
      std::array<std::int64_t, 2> v = values;
      MPI_Request request;
      MPI_Iallreduce(MPI_IN_PLACE, v.data(), 2, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD, &request);
      int flag = 0;
      while (!flag) MPI_Test(&request, &flag, MPI_STATUS_IGNORE);
      raw_nb.push_back(us(Clock::now() - t0));
    }

    comm->barrier();
    for (int i = 0; i < iterations; ++i) {
      auto t0 = Clock::now();
      std::array<std::int64_t, 2> v = values;
      MPI_Allreduce(MPI_IN_PLACE, v.data(), 2, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
      raw_blocking.push_back(us(Clock::now() - t0));
    }

    // The runtime's pattern: end_step(k) starts the vote of step k and must
    // know the outcome of the vote of step k - depth. Every rank starts
    // exactly one vote per step, so the sequence of collectives is the same
    // everywhere. The votes in flight are test()ed at every end_step: MPI
    // progresses a non-blocking collective only inside MPI calls, about one
    // round per call, so a deeper pipeline hides more of the rounds. The vote
    // that is due is waited for if a peer is late. Only time inside lull counts.
    for (int depth : {1, 2, 3}) {
      comm->barrier();
      std::deque<lull::PendingAllreduce> in_flight;
      std::vector<double> cost, ready;
      int steps = std::max(1, iterations / 4);
      for (int step = 1; step <= steps + depth; ++step) {
        if (step > 1) {  // the step
          if (sleeping_step) {
            std::this_thread::sleep_for(std::chrono::duration<double, std::micro>(step_us));
          } else {
            busy(step_us);
          }
        }
        auto t1 = Clock::now();
        for (auto& vote : in_flight) vote.test();
        bool due_ready = true;
        if (static_cast<int>(in_flight.size()) == depth) {
          due_ready = in_flight.front().done();
          in_flight.front().wait();
          in_flight.pop_front();
        }
        in_flight.push_back(comm->start_allreduce(values, lull::ReduceOp::max));
        if (step > depth) {
          cost.push_back(us(Clock::now() - t1));
          ready.push_back(due_ready ? 1.0 : 0.0);
        }
      }
      for (auto& vote : in_flight) vote.wait();
      end_of_step.push_back({depth, stats(cost), stats(ready).mean});
    }
    comm->barrier();
  }

  Stats a = stats(lull_tight), b = stats(raw_nb), c = stats(raw_blocking);
  if (rank == 0) {
    std::printf("ranks %d, %d iterations, 2 x int64 max (thread level %d)\n", size, iterations, provided);
    std::printf("  lull.start+test_until_done  median %8.2f us  mean %8.2f us\n", a.median, a.mean);
    std::printf("  raw.iallreduce+test         median %8.2f us  mean %8.2f us\n", b.median, b.mean);
    std::printf("  raw.allreduce               median %8.2f us  mean %8.2f us\n", c.median, c.mean);
    for (const EndOfStep& e : end_of_step) {
      std::printf("  lull.end_of_step depth %d (%g us %s steps) median %7.2f us  mean %7.2f us  (due vote already done: %3.0f%%)\n",
                  e.depth, step_us, sleeping_step ? "sleeping" : "busy", e.cost.median, e.cost.mean, 100 * e.ready_fraction);
    }
    std::printf("{\"ranks\": %d, \"step_us\": %g, \"lull_start_test_us\": %.3f, \"raw_iallreduce_test_us\": %.3f, "
                "\"raw_allreduce_us\": %.3f", size, step_us, a.median, b.median, c.median);
    for (const EndOfStep& e : end_of_step) {
      std::printf(", \"lull_end_of_step_depth%d_us\": %.3f, \"lull_end_of_step_depth%d_mean_us\": %.3f", e.depth,
                  e.cost.median, e.depth, e.cost.mean);
    }
    std::printf("}\n");
  }
  MPI_Finalize();
  return 0;
}
