// The `lull` command: parses the command line, runs one subcommand, and maps
// what happened to the exit-code contract (lull/base/exit_codes.h):
//   0 ok, 1 the command failed ("lull: <reason>" on stderr), 2 usage error;
//   `run` ends with its job's code instead (run/run_outcome.h: 0, 75, 126/127, ...).
// The commands are a table (kCommands): each adds itself to the command line
// with its options and says how it runs once chosen.
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "arbiter/arbiter_command.h"
#include "clients/arbiter_client_commands.h"
#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/base/log.h"
#include "lull/base/version.h"
#include "policy/policy_command.h"
#include "policy/policy_export_command.h"
#include "policy/simulate_command.h"
#include "report/report_command.h"
#include "run/run_command.h"
#include "snapshot_tools/inspect_command.h"
#include "snapshot_tools/verify_command.h"

namespace {

using namespace lull::cli;

// One subcommand once added: the CLI11 app that says whether the user chose
// it, and how to run it then (its value is lull's exit code).
struct Subcommand {
  const CLI::App* app;
  std::function<int()> run;
  // Its log lines at info level are its report (`run`, `arbiter`): the
  // others log errors only unless LULL_LOG_LEVEL says otherwise.
  bool reports_through_log;
};

// Adds a subcommand whose options live as long as the process.
template <class Options, class Run>
Subcommand subcommand(CLI::App* (*add)(CLI::App&, Options&), Run run, CLI::App& lull, bool reports_through_log) {
  auto options = std::make_shared<Options>();
  const CLI::App* app = add(lull, *options);
  return {app, [options, run] { return run(*options); }, reports_through_log};
}

using AddSubcommand = Subcommand (*)(CLI::App&);

// The table of commands, in the order `lull --help` lists them.
constexpr AddSubcommand kCommands[] = {
    [](CLI::App& lull) { return subcommand(add_inspect_command, [](auto& o) { return run_inspect(o, std::cout); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_verify_command, [](auto& o) { return run_verify(o, std::cout, std::cerr); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_run_command, [](auto& o) { return run_job(o); }, lull, true); },
    [](CLI::App& lull) { return subcommand(add_policy_command, [](auto& o) { return run_policy_check(o, std::cout, std::cerr); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_policy_export_command, [](auto& o) { return run_policy_export(o, std::cout, std::cerr); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_simulate_command, [](auto& o) { return run_simulate(o, std::cout); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_arbiter_command, [](auto& o) { return run_arbiter_command(o); }, lull, true); },
    [](CLI::App& lull) { return subcommand(add_submit_command, [](auto& o) { return run_submit(o, std::cout); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_status_command, [](auto& o) { return run_status(o, std::cout); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_cancel_command, [](auto& o) { return run_cancel(o, std::cout); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_drain_command, [](auto& o) { return run_drain(o, std::cout); }, lull, false); },
    [](CLI::App& lull) { return subcommand(add_report_command, [](auto& o) { return run_report(o); }, lull, false); },
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lull — preemptible training jobs on surplus GPUs.\n"
               "This build: run a job under lull; inspect and verify lull's HDF5 snapshots;\n"
               "check a preemption policy, simulate it on a job trace, export it for Slurm; run the node arbiter\n"
               "(arbiter) and talk to it (submit, status, cancel, drain); draw its timeline (report).",
               "lull"};
  app.set_version_flag("--version", "lull " LULL_VERSION);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 failed (the reason is on stderr), 2 bad command line.\n"
             "Docs: docs/cli.md.");

  std::vector<Subcommand> commands;
  for (AddSubcommand add : kCommands) commands.push_back(add(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version arrive here too, with exit code 0.
    return app.exit(error) == 0 ? lull::kExitOk : lull::kExitUsage;
  }

  for (const Subcommand& command : commands) {
    if (!command.app->parsed()) continue;
    // The commands report everything they find themselves (a snapshot passed
    // over is listed as rejected); the library's warnings would only repeat
    // it. LULL_LOG_LEVEL, when set, still wins.
    if (std::getenv("LULL_LOG_LEVEL") == nullptr && !command.reports_through_log) {
      lull::log::set_level(lull::log::Level::error);
    }
    try {
      return command.run();
    } catch (const lull::Error& error) {
      std::cerr << "lull: " << error.what() << "\n";
    } catch (const std::exception& error) {
      std::cerr << "lull: unexpected error: " << error.what() << "\n";
    }
    return lull::kExitFailure;
  }
  return lull::kExitUsage;  // unreachable: require_subcommand(1)
}
