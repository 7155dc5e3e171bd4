#pragma once
// How long a preempted job takes to get out of the way, beyond writing its
// snapshot: SIGTERM to `lull run -- mpirun -np K train_mlp --step-ms S`
// until `lull run` exits 75 with a committed snapshot, minus the time the
// runtime itself reports for writing that snapshot (its log line
// "preemption checkpoint step N: B bytes in W s").
//
// One repetition: a fresh snapshot directory; train_mlp runs until it has
// printed `warmup_lines` step lines (its step time is measured from them),
// then, a repetition-dependent fraction of a step later (so the signal
// lands at different points of a step), SIGTERM goes to `lull run`; the
// time until `lull run` has exited is the latency. The repetition counts
// only if the exit code is 75, the log line is there and `lull inspect
// --json` names a committed snapshot of that step. Not under MPI: it runs
// mpirun itself.
//
// Each repetition runs every variant (a set of extra environment variables
// for the job, e.g. Open MPI settings), in an order that rotates.
// Open MPI 4.1's mpirun, when a rank exits non-zero (75 is), runs its kill
// sequence on the already-exited ranks and waits odls_base_sigkill_timeout
// (1 s) twice before it exits: about 2 s that are mpirun's, not lull's;
// the variant with OMPI_MCA_odls_base_sigkill_timeout=0 shows lull's own.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lull::bench {

struct PreemptionVariant {
  std::string name;
  std::vector<std::string> env;  // "NAME=value"
};

struct PreemptionLatencyOptions {
  std::string lull;       // the `lull` binary
  std::string train_mlp;  // the train_mlp binary
  std::string mpirun = "mpirun";
  std::filesystem::path dir;  // scratch; one snapshot directory per repetition, removed after
  int ranks = 2;
  int reps = 5;
  double step_ms = 10;
  int log_every = 10;      // train_mlp prints a step line every this many steps
  int warmup_lines = 20;   // step lines seen before the SIGTERM
  std::vector<PreemptionVariant> variants = {{"default", {}}};
};

// JSON: {"ranks", "step_ms", "reps", "variants": {name: {"env": [...], "good_reps",
//        "samples": [{"latency_s", "stopped_s", "write_s", "overhead_s", "step_s", "step",
//        "bytes"} or {"error": ...}], "latency_s", "stopped_s", "write_s", "overhead_s",
//        "step_s" (medians over the good repetitions)}}}
// stopped_s: SIGTERM until rank 0's "stopping at step N" line reached us.
nlohmann::json measure_preemption_latency(const PreemptionLatencyOptions& options);

}  // namespace lull::bench
