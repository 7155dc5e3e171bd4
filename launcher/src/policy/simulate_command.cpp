#include "policy/simulate_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/policy/policy_loader.h"
#include "lull/simulator/simulation.h"
#include "lull/simulator/trace_generator.h"

namespace lull::cli {

// This file is the simulator's command line: it speaks the simulator's terms.
using namespace lull::simulator;

using policy::Duration;

CLI::App* add_simulate_command(CLI::App& app, SimulateOptions& options) {
  CLI::App* command = app.add_subcommand(
      "simulate", "Replay a job trace through the policy's decision core and print what it achieves");
  command->add_option("--policy", options.policy, "The policy file (TOML)")->required();
  auto* trace = command->add_option("--trace", options.trace, "The job trace to replay (CSV, see docs/policy.md)");
  auto* generate = command->add_option("--generate", options.generate, "Write a synthetic trace to this file instead");
  trace->excludes(generate);
  command->add_option("--slots", options.slots, "Simulate a node of this many slots (default: the policy's); tenant quotas keep their share of the node")
      ->check(CLI::Range(1, policy::kMaxNodeSlots));
  command->add_option("--jobs", options.jobs, "--generate: number of jobs")->check(CLI::Range(1, 10'000'000));
  command->add_option("--seed", options.seed, "--generate: random seed");
  command->add_option("--internal-load", options.internal_load,
                      "--generate: share of the node internal jobs use on average")
      ->check(CLI::Range(0.01, 0.99));
  command->add_option("--tenant-load", options.tenant_load,
                      "--generate: tenant demand as a share of the node")
      ->check(CLI::Range(0.01, 100.0));
  command->callback([command, trace, generate] {
    if (trace->count() == 0 && generate->count() == 0) {
      throw CLI::RequiredError("simulate needs --trace FILE or --generate FILE");
    }
    (void)command;
  });
  return command;
}

namespace {

std::string percent(double part, double whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return text;
}

std::string slot_hours(double slot_ms) {
  char text[48];
  std::snprintf(text, sizeof text, "%.1f slot-hours", slot_ms / 3.6e6);
  return text;
}

std::string span(Duration duration) {
  // Whole seconds are precise enough for a report.
  return policy::format_duration(std::chrono::duration_cast<std::chrono::seconds>(duration));
}

struct DelayFigures {
  std::size_t delayed = 0;
  std::size_t compared = 0;
  Duration mean{0}, p99{0}, max{0};
};

DelayFigures internal_delay(const SimulationFigures& with_tenants, const SimulationFigures& alone,
                            const std::vector<bool>& internal_rows) {
  std::vector<Duration> delays;
  for (std::size_t row = 0; row < internal_rows.size(); ++row) {
    if (!internal_rows[row] || !with_tenants.first_start[row] || !alone.first_start[row]) continue;
    delays.push_back(std::max(Duration(0), *with_tenants.first_start[row] - *alone.first_start[row]));
  }
  DelayFigures figures;
  figures.compared = delays.size();
  if (delays.empty()) return figures;
  std::sort(delays.begin(), delays.end());
  // A sum of int64 delays may not fit one; a long double holds every int64 exactly.
  long double total = 0;
  for (Duration delay : delays) {
    total += static_cast<long double>(delay.count());
    if (delay.count() > 0) ++figures.delayed;
  }
  // Clamped to the delays' own range (rounding may not push it past the largest), so it fits.
  const long double mean = std::clamp(total / static_cast<long double>(delays.size()),
                                      static_cast<long double>(delays.front().count()),
                                      static_cast<long double>(delays.back().count()));
  figures.mean = Duration(static_cast<Duration::rep>(mean));
  figures.p99 = delays[std::min(delays.size() - 1, delays.size() * 99 / 100)];
  figures.max = delays.back();
  return figures;
}

int generate(const SimulateOptions& options, const policy::Policy& policy, std::ostream& out) {
  TraceShape shape;
  shape.jobs = options.jobs;
  shape.slots = options.slots.value_or(policy.slots);
  shape.seed = options.seed;
  shape.internal_load = options.internal_load;
  shape.tenant_load = options.tenant_load;
  const std::vector<TraceJob> jobs = generate_trace(policy, shape);
  std::ofstream file(options.generate);
  if (!file) throw Error(ErrorCode::io, "cannot write " + options.generate.string());
  write_trace(jobs, file);
  file.close();
  if (!file) throw Error(ErrorCode::io, "writing " + options.generate.string() + " failed");
  out << "wrote " << jobs.size() << " jobs for " << shape.slots << " slots over "
      << span(jobs.empty() ? Duration(0) : jobs.back().submit) << " to " << options.generate.string() << "\n";
  return kExitOk;
}

}  // namespace

int run_simulate(const SimulateOptions& options, std::ostream& out) {
  const policy::Policy policy = policy::load_policy_or_throw(options.policy);
  if (!options.generate.empty()) return generate(options, policy, out);

  const std::vector<TraceJob> trace = read_trace(options.trace);
  const int slots = options.slots.value_or(policy.slots);
  std::vector<bool> internal_rows(trace.size(), false);
  for (std::size_t row = 0; row < trace.size(); ++row) {
    const policy::JobClass* job_class = policy.find_class(trace[row].job_class);
    internal_rows[row] = job_class != nullptr && !job_class->preemptible;
  }

  const auto started = std::chrono::steady_clock::now();
  const SimulationFigures figures = simulate(policy, trace, slots);
  const SimulationFigures alone = simulate(policy, trace, slots, &internal_rows);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const DelayFigures delay = internal_delay(figures, alone, internal_rows);
  const double surplus = figures.capacity - figures.internal_used;

  char wall[32];
  std::snprintf(wall, sizeof wall, "%.2f s", seconds);
  out << "simulated        " << trace.size() << " jobs (" << figures.internal_jobs << " internal, "
      << figures.tenant_jobs << " tenant) on " << slots << " slots: " << figures.events << " decisions in " << wall
      << " (both runs)\n";
  out << "window           0s to " << span(figures.window) << " (the last submit); all jobs done at "
      << span(figures.makespan) << "\n";
  out << "surplus          " << percent(surplus, figures.capacity)
      << " of the window's slot-time was not used by internal jobs\n";
  out << "tenants used     " << percent(figures.tenant_used, surplus) << " of that surplus\n";
  out << "internal delay   caused by tenants (same trace without them): mean " << span(delay.mean) << ", p99 "
      << span(delay.p99) << ", max " << span(delay.max) << "; " << delay.delayed << " of " << delay.compared
      << " internal jobs started later\n";
  out << "preemptions      " << figures.notices << " notices, " << figures.kills_at_deadline
      << " killed at the deadline (snapshot did not fit in the grace period)\n";
  out << "tenant work lost " << slot_hours(figures.tenant_lost) << " ("
      << percent(figures.tenant_lost, figures.tenant_held) << " of the slot-time tenant jobs held)\n";
  out << "tenant goodput   " << percent(figures.tenant_useful, figures.tenant_held) << " (useful compute "
      << slot_hours(figures.tenant_useful) << " of " << slot_hours(figures.tenant_held) << " held; snapshots "
      << percent(figures.tenant_checkpointing, figures.tenant_held) << ")\n";
  out << "jobs             " << figures.finished_jobs << " finished, " << figures.rejected << " rejected, "
      << figures.failed_jobs - figures.rejected << " unfinished\n";
  return kExitOk;
}

}  // namespace lull::cli
