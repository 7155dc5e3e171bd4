// runtime_bench — what lull's runtime costs a training job.
//
//   mpirun -np N runtime_bench end-step --dir DIR     end_step()'s cost per step when nothing
//                                                     happens, beside a simulated 10 ms step
//   runtime_bench preemption --lull build/bin/lull --train-mlp build/bin/train_mlp --ranks K
//                                                     SIGTERM to `lull run` -> exit 75 with a
//                                                     committed snapshot, minus the write itself
//
// Every figure is measured in this run and printed with its target and
// whether it was met; the JSON of the measurement is appended as one line
// to --json-out (scripts/bench.sh assembles build/bench/runtime.json).

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "end_step_cost.h"
#include "lull/base/log.h"
#include "mpi_job.h"
#include "preemption_latency.h"

namespace lull::bench {
namespace {

constexpr double kTargetEndStepPct = 1.0;        // of a step
constexpr double kTargetOverheadBeyondStep = 0.1;  // s, on top of one step

const char* verdict(bool met) { return met ? "met" : "MISSED"; }

void append_line(const std::string& path, const nlohmann::json& record) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::app);
  out << record.dump() << "\n";
  if (!out) throw std::runtime_error("cannot append to " + path);
}

int end_step(int argc, char** argv, const EndStepCostOptions& options, const std::string& json_out) {
  MpiJob job(&argc, &argv);
  log::set_level(log::Level::warn);
  EndStepCostOptions mine = options;
  // One directory for the whole job: rank 0's pid names it.
  mine.dir /= job.broadcast_from_root("end-step-np" + std::to_string(job.size()) + "-" + std::to_string(::getpid()));
  nlohmann::json r = measure_end_step_cost(job, mine);
  if (job.rank() != 0) return 0;
  const double pct = r["cost_pct_of_step"];
  const bool met = pct < kTargetEndStepPct;
  r["kind"] = "end_step";
  r["target"] = {{"cost_pct_of_step_below", kTargetEndStepPct}, {"met", met}};
  append_line(json_out, r);
  std::printf("end_step at %d rank%s: %.1f us per step = %.3f%% of a %.0f ms step (own call: median %.1f us, "
              "p90 %.1f us) | target < %.0f%%: %s\n",
              job.size(), job.size() == 1 ? "" : "s", r["cost_us"].get<double>(), pct, options.step_ms,
              r["call_us"]["median"].get<double>(), r["call_us"]["p90"].get<double>(), kTargetEndStepPct, verdict(met));
  return 0;
}

int preemption(PreemptionLatencyOptions options, const std::string& json_out) {
  options.variants = {{"default", {}}, {"mpirun_sigkill_timeout_1", {"OMPI_MCA_odls_base_sigkill_timeout=1"}}};
  nlohmann::json r = measure_preemption_latency(options);
  r["kind"] = "preemption";
  bool all_good = true;
  for (auto& [name, v] : r["variants"].items()) {
    for (const auto& s : v["samples"]) {
      if (s.contains("error")) {
        std::fprintf(stderr, "runtime_bench preemption (%s): repetition failed: %s\n", name.c_str(),
                     s["error"].get<std::string>().c_str());
      }
    }
    const int good = v["good_reps"];
    const double step_s = v["step_s"], overhead = v["overhead_s"];
    const double limit = step_s + kTargetOverheadBeyondStep;
    const bool met = good == options.reps && overhead < limit;
    all_good = all_good && good == options.reps;
    v["target"] = {{"overhead_s_below", limit}, {"rule", "one step + 100 ms"}, {"met", met}};
    std::printf("preemption at %d ranks, %s (%d/%d good): SIGTERM -> exit 75 in %.3f s (stop on a committed "
                "snapshot seen at %.3f s), write %.3f s, overhead %.3f s (step %.1f ms) | target < one step + "
                "100 ms = %.3f s: %s\n",
                options.ranks, name.c_str(), good, options.reps, v["latency_s"].get<double>(),
                v["stopped_s"].get<double>(), v["write_s"].get<double>(), overhead, step_s * 1e3, limit, verdict(met));
  }
  append_line(json_out, r);
  return all_good ? 0 : 1;
}

}  // namespace
}  // namespace lull::bench

int main(int argc, char** argv) {
  using namespace lull::bench;
  CLI::App app{"runtime_bench: end_step()'s cost and preemption latency of lull's runtime"};
  app.require_subcommand(1);
  std::string json_out;
  app.add_option("--json-out", json_out, "append the result as one JSON line to this file");

  EndStepCostOptions cost;
  auto* e = app.add_subcommand("end-step", "end_step()'s cost per step (run under mpirun)");
  e->add_option("--dir", cost.dir, "scratch directory for the snapshot store")->required();
  e->add_option("--step-ms", cost.step_ms, "milliseconds of work per simulated step")->capture_default_str();
  e->add_flag("--spin", cost.spin, "busy-wait instead of sleeping during the step's work");
  e->add_option("--steps-per-block", cost.steps_per_block, "steps per timed block")->capture_default_str();
  e->add_option("--reps", cost.reps, "repetitions (a block with and one without end_step)")->capture_default_str();
  e->add_option("--allreduce-floats", cost.allreduce_floats, "floats in the step's allreduce")->capture_default_str();

  PreemptionLatencyOptions pre;
  auto* p = app.add_subcommand("preemption", "SIGTERM to `lull run` until exit 75 (not under mpirun)");
  p->add_option("--lull", pre.lull, "the lull binary")->required();
  p->add_option("--train-mlp", pre.train_mlp, "the train_mlp binary")->required();
  p->add_option("--mpirun", pre.mpirun, "mpirun")->capture_default_str();
  p->add_option("--dir", pre.dir, "scratch directory for the snapshot directories")->required();
  p->add_option("--ranks", pre.ranks, "ranks of train_mlp")->capture_default_str();
  p->add_option("--reps", pre.reps, "repetitions")->capture_default_str();
  p->add_option("--step-ms", pre.step_ms, "train_mlp --step-ms")->capture_default_str();
  p->add_option("--warmup-lines", pre.warmup_lines, "step lines (every 10 steps) before the SIGTERM")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (*e) return end_step(argc, argv, cost, json_out);
    return preemption(pre, json_out);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "runtime_bench: %s\n", ex.what());
    return 1;
  }
}
