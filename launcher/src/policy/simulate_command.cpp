#include "policy/simulate_command.h"

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/policy/policy_loader.h"
#include "lull/simulator/internal_delay.h"
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
  return fmt::format("{:.1f}%", whole > 0 ? 100.0 * part / whole : 0.0);
}

std::string slot_hours(double slot_ms) { return fmt::format("{:.1f} slot-hours", slot_ms / 3.6e6); }

std::string span(Duration duration) {
  // Whole seconds are precise enough for a report.
  return policy::format_duration(std::chrono::duration_cast<std::chrono::seconds>(duration));
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
  const std::vector<bool> internal = internal_rows(policy, trace);

  const auto started = std::chrono::steady_clock::now();
  const SimulationFigures figures = simulate(policy, trace, slots);
  const SimulationFigures alone = simulate(policy, trace, slots, &internal);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const InternalDelay delay = internal_delay(figures, alone, internal);
  const double surplus = figures.capacity - figures.internal_used;

  out << "simulated        " << trace.size() << " jobs (" << figures.internal_jobs << " internal, "
      << figures.tenant_jobs << " tenant) on " << slots << " slots: " << figures.events << " decisions in "
      << fmt::format("{:.2f} s", seconds) << " (both runs)\n";
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
