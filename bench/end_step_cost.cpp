#include "end_step_cost.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "lull/runtime.h"

namespace lull::bench {

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The step a data-parallel program would take, minus the model.
class SimulatedStep {
 public:
  explicit SimulatedStep(const EndStepCostOptions& o)
      : work_(std::chrono::duration<double, std::milli>(o.step_ms)),
        spin_(o.spin),
        gradient_(static_cast<std::size_t>(o.allreduce_floats), 1.0f),
        summed_(gradient_.size()) {}

  void run() {
    if (spin_) {
      const auto until = std::chrono::steady_clock::now() + work_;
      while (std::chrono::steady_clock::now() < until) {
      }
    } else {
      std::this_thread::sleep_for(work_);
    }
    MPI_Allreduce(gradient_.data(), summed_.data(), static_cast<int>(gradient_.size()), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
  }

  std::vector<float>& gradient() { return gradient_; }

 private:
  std::chrono::duration<double, std::milli> work_;
  bool spin_;
  std::vector<float> gradient_;
  std::vector<float> summed_;
};

}  // namespace

nlohmann::json measure_end_step_cost(const MpiJob& job, const EndStepCostOptions& options) {
  RuntimeOptions runtime_options;
  runtime_options.job = "end_step_bench";
  runtime_options.ckpt_dir = options.dir;
  // As under `lull run`: a notice file is named (and polled), none exists.
  runtime_options.notice_file = options.dir / "no-notice";
  std::uint64_t step = 0;
  SimulatedStep simulated(options);
  std::vector<double> without_us, with_us, without_median_us, with_median_us, call_us;
  {
    Runtime rt(runtime_options, MPI_COMM_WORLD);
    const std::uint64_t n = simulated.gradient().size();
    rt.protect_replicated("gradient", DType::f32, {n}, simulated.gradient().data());
    step = rt.restore();

    // A block's per-step figures: the mean (block time / steps, slowest
    // rank) and the median of the single steps' times (start of one step to
    // the start of the next, slowest rank's median), which a scheduler
    // hiccup on this shared machine does not move.
    struct BlockTimes {
      double mean_us, median_us;
    };
    std::vector<double> step_us(static_cast<std::size_t>(options.steps_per_block));
    auto block = [&](bool with_end_step) {
      job.barrier();
      const double start = now_seconds();
      double step_start = start;
      for (int i = 0; i < options.steps_per_block; ++i) {
        simulated.run();
        if (with_end_step) {
          ++step;
          const double call_start = now_seconds();
          rt.end_step(step);
          call_us.push_back((now_seconds() - call_start) * 1e6);
        }
        const double end = now_seconds();
        step_us[static_cast<std::size_t>(i)] = (end - step_start) * 1e6;
        step_start = end;
      }
      const double seconds = job.max(now_seconds() - start);
      return BlockTimes{seconds * 1e6 / options.steps_per_block, job.max(percentile(step_us, 0.5))};
    };
    block(true);  // warm-up: the first votes, page faults, MPI connections
    block(false);
    call_us.clear();
    for (int rep = 0; rep < options.reps; ++rep) {
      const bool with_first = rep % 2 == 1;
      for (bool with_end_step : {with_first, !with_first}) {
        const BlockTimes t = block(with_end_step);
        (with_end_step ? with_us : without_us).push_back(t.mean_us);
        (with_end_step ? with_median_us : without_median_us).push_back(t.median_us);
      }
    }
    rt.finish(step);
  }

  // Every rank's own end_step() durations, gathered on rank 0.
  std::string mine(reinterpret_cast<const char*>(call_us.data()), call_us.size() * sizeof(double));
  std::vector<double> all_calls;
  for (const std::string& part : job.gather_to_root(mine)) {
    const auto* values = reinterpret_cast<const double*>(part.data());
    all_calls.insert(all_calls.end(), values, values + part.size() / sizeof(double));
  }
  if (job.rank() == 0) std::filesystem::remove_all(options.dir);

  std::vector<double> cost_us, mean_cost_us;
  for (std::size_t r = 0; r < with_us.size(); ++r) {
    cost_us.push_back(with_median_us[r] - without_median_us[r]);
    mean_cost_us.push_back(with_us[r] - without_us[r]);
  }
  const double cost = percentile(cost_us, 0.5);
  return {{"ranks", job.size()},
          {"step_ms", options.step_ms},
          {"work", options.spin ? "spin" : "sleep"},
          {"steps_per_block", options.steps_per_block},
          {"reps", options.reps},
          {"allreduce_floats", options.allreduce_floats},
          {"step_us_median", {{"without", without_median_us}, {"with", with_median_us}}},
          {"step_us_mean", {{"without", without_us}, {"with", with_us}}},
          {"cost_us_per_rep", cost_us},
          {"cost_us", cost},
          {"cost_pct_of_step", cost / (options.step_ms * 1e3) * 100.0},
          {"mean_cost_us_per_rep", mean_cost_us},
          {"mean_cost_us", percentile(mean_cost_us, 0.5)},
          {"call_us",
           {{"median", percentile(all_calls, 0.5)},
            {"p90", percentile(all_calls, 0.9)},
            {"max", percentile(all_calls, 1.0)},
            {"calls", all_calls.size()}}}};
}

}  // namespace lull::bench
