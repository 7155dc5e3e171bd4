// The `lull` command: parses the command line, runs one subcommand, and maps
// what happened to the exit-code contract (exit_codes.h):
//   0 ok, 1 the command failed ("lull: <reason>" on stderr), 2 usage error;
//   `run` ends with its job's code instead (run_outcome.h: 0, 75, 126/127, ...).
#include <cstdlib>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "arbiter_client_commands.h"
#include "arbiter_command.h"
#include "exit_codes.h"
#include "inspect_command.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/version.h"
#include "policy_command.h"
#include "report_command.h"
#include "run_command.h"
#include "simulate_command.h"
#include "verify_command.h"

int main(int argc, char** argv) {
  using namespace lull::cli;

  CLI::App app{"lull — preemptible training jobs on surplus GPUs.\n"
               "This build: run a job under lull; inspect and verify lull's HDF5 snapshots;\n"
               "check a preemption policy and simulate it on a job trace; run the node arbiter\n"
               "(arbiter) and talk to it (submit, status, cancel, drain); draw its timeline (report).",
               "lull"};
  app.set_version_flag("--version", "lull " LULL_VERSION);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 failed (the reason is on stderr), 2 bad command line.\n"
             "Docs: README.md, \"The lull command\".");

  InspectOptions inspect_options;
  const CLI::App* inspect = add_inspect_command(app, inspect_options);
  VerifyOptions verify_options;
  const CLI::App* verify = add_verify_command(app, verify_options);
  RunOptions run_options;
  const CLI::App* run = add_run_command(app, run_options);
  PolicyCheckOptions policy_check_options;
  const CLI::App* policy_check = add_policy_command(app, policy_check_options);
  SimulateOptions simulate_options;
  const CLI::App* simulate = add_simulate_command(app, simulate_options);
  lull::arbiter::ArbiterSettings arbiter_settings;
  const CLI::App* arbiter = add_arbiter_command(app, arbiter_settings);
  SubmitOptions submit_options;
  const CLI::App* submit = add_submit_command(app, submit_options);
  StatusOptions status_options;
  const CLI::App* status = add_status_command(app, status_options);
  CancelOptions cancel_options;
  const CLI::App* cancel = add_cancel_command(app, cancel_options);
  DrainOptions drain_options;
  const CLI::App* drain = add_drain_command(app, drain_options);
  ReportOptions report_options;
  const CLI::App* report = add_report_command(app, report_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version arrive here too, with exit code 0.
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  }

  // The commands report everything they find themselves (a snapshot passed
  // over is listed as rejected); the library's warnings would only repeat it.
  // LULL_LOG_LEVEL, when set, still wins. `run` and `arbiter` keep info: their lines are their report.
  if (std::getenv("LULL_LOG_LEVEL") == nullptr && !run->parsed() && !arbiter->parsed()) {
    lull::log::set_level(lull::log::Level::error);
  }

  try {
    if (inspect->parsed()) return run_inspect(inspect_options, std::cout);
    if (verify->parsed()) return run_verify(verify_options, std::cout, std::cerr);
    if (run->parsed()) return run_job(run_options);
    if (policy_check->parsed()) return run_policy_check(policy_check_options, std::cout, std::cerr);
    if (simulate->parsed()) return run_simulate(simulate_options, std::cout);
    if (arbiter->parsed()) return run_arbiter_command(arbiter_settings);
    if (submit->parsed()) return run_submit(submit_options, std::cout);
    if (status->parsed()) return run_status(status_options, std::cout);
    if (cancel->parsed()) return run_cancel(cancel_options, std::cout);
    if (drain->parsed()) return run_drain(drain_options, std::cout);
    if (report->parsed()) return run_report(report_options);
    return kExitUsage;  // unreachable: require_subcommand(1)
  } catch (const lull::Error& error) {
    std::cerr << "lull: " << error.what() << "\n";
  } catch (const std::exception& error) {
    std::cerr << "lull: unexpected error: " << error.what() << "\n";
  }
  return kExitFailure;
}
