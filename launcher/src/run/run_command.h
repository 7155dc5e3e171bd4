#pragma once
// `lull run [--job NAME] [--ckpt-dir DIR] [--grace S] [--kill-after S]
//           [--every-steps N] [--every-seconds S|auto] [--notice-signal USR1|TERM|none]
//           [--exit-file PATH] -- COMMAND...`:
// supervises a training job (usually `mpirun -np K ./train ...`).
//
// Hands the settings to the ranks through the environment
// (run_environment.h), turns SIGTERM/SIGINT into a deadline-bound
// preemption notice and escalates when the deadline passes
// (job_supervisor.h), and exits with the code of run_outcome.h: 0 finished,
// 75 preempted and resumable, COMMAND's code otherwise. Running the same
// command again resumes the job. With --exit-file, that code and its meaning
// are also written atomically to PATH (run_exit_file.h) just before lull run
// exits, for a watcher that is not its parent (the node arbiter).
//
// Each option left out is taken from lull run's own environment (LULL_JOB,
// LULL_CKPT_DIR, LULL_GRACE_SECONDS, LULL_EVERY_STEPS, LULL_EVERY_SECONDS)
// when set there, else from its default: job = the snapshot directory's
// name or "job", grace 30 s, kill-after 5 s, no periodic checkpoints (the
// program's own choice).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "run/run_environment.h"

namespace lull::cli {

struct RunOptions {
  std::optional<std::string> job;
  std::optional<std::filesystem::path> ckpt_dir;
  double grace_seconds = run::kDefaultGraceSeconds;
  double kill_after_seconds = run::kDefaultKillAfterSeconds;
  std::optional<std::uint64_t> every_steps;
  std::optional<std::string> every_seconds;  // run::parse_every_seconds's form
  int notice_signal = run::kDefaultNoticeSignal;  // 0: none
  std::optional<std::filesystem::path> exit_file;
  std::vector<std::string> command;
};

// Registers the subcommand; `options` must outlive parsing. A bad job name
// or a negative duration is a command-line error (CLI::ParseError).
CLI::App* add_run_command(CLI::App& app, RunOptions& options);

// Runs the job to its end and returns lull run's exit code. When COMMAND
// cannot be executed, prints "lull run: cannot execute X: <reason>" on
// stderr and returns 127 (not found) or 126. Throws lull::Error when lull
// run cannot start at all (snapshot directory unusable, fork failed).
int run_job(const RunOptions& options);

}  // namespace lull::cli
