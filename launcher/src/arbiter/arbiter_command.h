#pragma once
// `lull arbiter --policy FILE [--slots N] [--state-dir DIR] [--socket PATH]
//               [--socket-group GROUP] [--events-file PATH] [--metrics-file PATH]
//               [--mpirun PATH]`:
// the node arbiter (arbiter/server/arbiter_server.h); runs until SIGTERM or
// SIGINT (its jobs keep running) or until `lull drain` has emptied the node.

#include <CLI/CLI.hpp>

#include "arbiter/server/arbiter_server.h"

namespace lull::cli {

// Registers the subcommand; `settings` must outlive parsing.
CLI::App* add_arbiter_command(CLI::App& app, arbiter::ArbiterSettings& settings);

// Runs the arbiter; returns 0 after a signal or a completed drain. Throws
// lull::Error when it cannot start.
int run_arbiter_command(const arbiter::ArbiterSettings& settings);

}  // namespace lull::cli
