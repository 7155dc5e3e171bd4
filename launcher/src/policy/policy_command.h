#pragma once
// `lull policy check FILE`: is a policy file valid, and what does it say?
//
// A valid file prints a summary on `out` (node, scheduling, resume, victim
// order, classes by priority, tenants) and returns kExitOk. An invalid one
// prints every issue on `err`, one per line as
//   FILE:LINE:COLUMN: FIELD: what is wrong
// followed by a count, and returns kExitFailure.

#include <filesystem>
#include <ostream>

#include <CLI/CLI.hpp>

#include "lull/policy/policy.h"

namespace lull::cli {

struct PolicyCheckOptions {
  std::filesystem::path file;
};

// Registers `policy` with its `check` subcommand; returns `policy check`.
// `options` must outlive parsing.
CLI::App* add_policy_command(CLI::App& app, PolicyCheckOptions& options);

int run_policy_check(const PolicyCheckOptions& options, std::ostream& out, std::ostream& err);

// The summary `policy check` prints for a valid policy (also used by `simulate`).
void print_policy_summary(const policy::Policy& policy, std::ostream& out);

}  // namespace lull::cli
