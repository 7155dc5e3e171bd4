#pragma once
// What lull::Runtime::end_step() costs a training loop when nothing happens
// (no notice, no checkpoint due).
//
// A simulated data-parallel step: `step_ms` of work (a sleep, or a busy
// spin) and a small MPI_Allreduce (`allreduce_floats` floats, the gradient
// exchange). Each repetition times one block of `steps_per_block` steps
// without end_step() and one with it, the order alternating between
// repetitions. Per block: the median of its single steps' times (slowest
// rank's) and the mean (block time between barriers / steps, slowest
// rank). end_step's cost per step is, per repetition, median(with) -
// median(without); the figure is its median over repetitions. The
// difference of the means is reported beside it (it also carries the
// scheduler hiccups of a shared machine), and the end_step() calls are
// timed one by one (their own duration on each rank).
// Collective over MPI_COMM_WORLD (which the caller has initialised).

#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "mpi_job.h"

namespace lull::bench {

struct EndStepCostOptions {
  std::filesystem::path dir;  // scratch snapshot directory (created; removed afterwards)
  double step_ms = 10;
  bool spin = false;  // busy-wait instead of sleeping for step_ms
  int steps_per_block = 50;
  int reps = 20;
  int allreduce_floats = 1024;
};

// JSON, complete on rank 0:
//   {"ranks", "step_ms", "work", "steps_per_block", "reps",
//    "step_us_median" / "step_us_mean": {"without": [...], "with": [...]},  (per rep)
//    "cost_us_per_rep": [...], "cost_us": median, "cost_pct_of_step": cost / step_ms,
//    "mean_cost_us_per_rep": [...], "mean_cost_us": median,
//    "call_us": {"median", "p90", "max"}}                (end_step's own duration, all ranks)
nlohmann::json measure_end_step_cost(const MpiJob& job, const EndStepCostOptions& options);

}  // namespace lull::bench
