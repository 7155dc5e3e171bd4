#pragma once
// `lull simulate`: what a policy achieves on a job trace.
//
//   lull simulate --policy FILE --trace TRACE.csv [--slots N]
//   lull simulate --policy FILE --generate TRACE.csv [--jobs N] [--slots N] [--seed S]
//                 [--internal-load X] [--tenant-load Y]
//
// The first replays the trace (job_trace.h) through the decision core twice:
// with every job, and with the internal jobs alone (non-preemptible classes),
// so the delay tenants cause internal jobs is measured, not guessed. It
// prints the share of surplus capacity tenants used, that delay,
// preemptions, tenant work lost and tenant goodput. The second writes a
// synthetic trace (trace_generator.h) for the policy's tenants.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>

#include <CLI/CLI.hpp>

namespace lull::cli {

struct SimulateOptions {
  std::filesystem::path policy;
  std::filesystem::path trace;
  std::filesystem::path generate;
  std::optional<int> slots;
  int jobs = 1000;
  std::uint64_t seed = 1;
  double internal_load = 0.6;
  double tenant_load = 0.5;
};

// Registers the subcommand; `options` must outlive parsing.
CLI::App* add_simulate_command(CLI::App& app, SimulateOptions& options);

// Returns kExitOk; throws lull::Error for an invalid policy or trace.
int run_simulate(const SimulateOptions& options, std::ostream& out);

}  // namespace lull::cli
