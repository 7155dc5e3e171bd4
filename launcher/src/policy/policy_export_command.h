#pragma once
// `lull policy export POLICY --slurm CONF [--job-script SCRIPT]`: the policy
// compiled for Slurm's own scheduler (lull/policy/slurm_export.h,
// docs/slurm.md). Writes CONF (slurm.conf lines: preemption settings, a
// partition per class) and SCRIPT (lull-sbatch, mode 0755; default
// `lull-sbatch` beside CONF), each atomically, and prints on `out` what it
// wrote and every setting Slurm does not keep ("not kept: FIELD: ..."),
// returning kExitOk. A policy that does not load, or that Slurm cannot hold
// as it is, gets every problem on `err` (FILE:LINE:COLUMN: FIELD: why),
// nothing written, and kExitFailure.

#include <filesystem>
#include <optional>
#include <ostream>

#include <CLI/CLI.hpp>

namespace lull::cli {

struct PolicyExportOptions {
  std::filesystem::path file;
  std::filesystem::path slurm_conf;
  std::optional<std::filesystem::path> job_script;
};

// Adds `export` to the `policy` command (add_policy_command registers it
// first); returns `policy export`. `options` must outlive parsing.
CLI::App* add_policy_export_command(CLI::App& app, PolicyExportOptions& options);

int run_policy_export(const PolicyExportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace lull::cli
