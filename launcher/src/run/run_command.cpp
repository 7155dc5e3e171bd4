#include "run/run_command.h"

#include <unistd.h>

#include <iostream>
#include <memory>

#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/base/log.h"
#include "lull/base/names.h"
#include "posix/signal_inbox.h"
#include "run/job_supervisor.h"
#include "run/notice_location.h"
#include "run/run_exit_file.h"
#include "run/run_outcome.h"

namespace lull::cli {

namespace {

// A command-line check from a lull parser: its Error's message is what
// CLI11 prints for a value it refuses.
CLI::Validator checked_by(void (*check)(const std::string&), const char* what) {
  return CLI::Validator(
      [check](std::string& value) -> std::string {
        try {
          check(value);
        } catch (const Error& e) {
          return e.message();
        }
        return {};
      },
      what);
}

const CLI::Validator kJobName = checked_by([](const std::string& v) { validate_name("job name", v); }, "NAME");
const CLI::Validator kEverySeconds = checked_by([](const std::string& v) { run::parse_every_seconds(v); }, "S|auto");
const CLI::Validator kNoticeSignal = checked_by([](const std::string& v) { run::parse_notice_signal(v); },
                                                "USR1|TERM|none");

}  // namespace

CLI::App* add_run_command(CLI::App& app, RunOptions& options) {
  CLI::App* command = app.add_subcommand(
      "run", "Run a training job (usually mpirun ...) under lull: SIGTERM/SIGINT become a "
             "deadline-bound checkpoint, exit 75 = preempted and resumable");
  command->add_option_function<std::string>(
             "--job", [&options](const std::string& v) { options.job = v; },
             "Job name (default: the snapshot directory's name, else \"job\")")
      ->envname("LULL_JOB")
      ->check(kJobName);
  command->add_option_function<std::string>(
             "--ckpt-dir", [&options](const std::string& v) { options.ckpt_dir = v; },
             "The job's snapshot directory; created (mode 0700) when missing, refused when "
             "world-writable")
      ->envname("LULL_CKPT_DIR");
  command->add_option("--grace", options.grace_seconds,
                      "Seconds from a SIGTERM/SIGINT to escalation (the notice's deadline)")
      ->envname("LULL_GRACE_SECONDS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option("--kill-after", options.kill_after_seconds,
                      "Seconds from escalation's SIGTERM to SIGKILL")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option_function<std::uint64_t>(
             "--every-steps", [&options](const std::uint64_t& v) { options.every_steps = v; },
             "Checkpoint every N steps (passed to the ranks; 0 = off)")
      ->envname("LULL_EVERY_STEPS");
  command->add_option_function<std::string>(
             "--every-seconds", [&options](const std::string& v) { options.every_seconds = run::parse_every_seconds(v); },
             "Checkpoint every S seconds, or auto: sqrt(2 x measured checkpoint cost x mean time between "
             "notices) (passed to the ranks; 0 = off)")
      ->envname("LULL_EVERY_SECONDS")
      ->check(kEverySeconds);
  command->add_option_function<std::string>(
             "--notice-signal", [&options](const std::string& v) { options.notice_signal = run::parse_notice_signal(v); },
             "Signal sent to COMMAND after the notice file once every rank is ready for it: USR1 "
             "(mpirun forwards it; default), TERM (torchrun forwards it), none (the notice file alone)")
      ->check(kNoticeSignal);
  command->add_option_function<std::string>(
             "--exit-file", [&options](const std::string& v) { options.exit_file = v; },
             "Also write the exit code and its meaning here (JSON, atomically) before exiting");
  command->add_option("COMMAND", options.command, "The job, e.g. -- mpirun -np 4 ./train --steps 1000")
      ->required();
  // Everything from COMMAND on belongs to COMMAND: `lull run mpirun -np 4`
  // works without "--".
  command->positionals_at_end();
  command->footer(
      "Exit codes: 0 finished, 75 preempted and resumable (run the same command again), "
      "126/127 COMMAND not executable/not found, 1 lull run failed, 2 bad command line, "
      "otherwise COMMAND's own code (128+N when killed by signal N).\n"
      "Signals: SIGTERM, SIGINT, SIGHUP = preemption notice (notice file, then the "
      "--notice-signal to COMMAND once every rank is ready for it); escalation at the deadline: SIGTERM, then SIGKILL after --kill-after, to every "
      "process of the job. A third SIGTERM/SIGINT escalates at once. SIGUSR1/SIGUSR2 are "
      "forwarded to COMMAND as they are.");
  return command;
}

int run_job(const RunOptions& options) {
  run::RunSettings settings;
  settings.ckpt_dir = options.ckpt_dir;
  settings.job = options.job.value_or(run::default_job_name(options.ckpt_dir));
  settings.grace_seconds = options.grace_seconds;
  settings.kill_after_seconds = options.kill_after_seconds;
  settings.every_steps = options.every_steps;
  settings.every_seconds = options.every_seconds;
  settings.notice_signal = options.notice_signal;
  run::prepare_run_settings(settings);
  log::set_identity(settings.job, -1);

  const run::NoticeLocation notice(settings.ckpt_dir);
  run::SupervisorSettings supervisor_settings;
  supervisor_settings.launch.command = options.command;
  supervisor_settings.launch.environment = run::child_environment(settings, notice.file(), environ);
  supervisor_settings.notice_file = notice.file();
  supervisor_settings.grace_seconds = settings.grace_seconds;
  supervisor_settings.kill_after_seconds = settings.kill_after_seconds;
  supervisor_settings.notice_signal = settings.notice_signal;
  // Held until the verdict is logged: see open_supervisor_inbox().
  const std::unique_ptr<posix::SignalInbox> inbox = run::open_supervisor_inbox();
  const run::SupervisorOutcome outcome = run::JobSupervisor(std::move(supervisor_settings)).run(*inbox);

  std::optional<std::uint64_t> step;
  if (run::judged_by_snapshot(outcome) && settings.ckpt_dir) step = run::latest_resumable_step(*settings.ckpt_dir, settings.job);
  const run::RunVerdict verdict = judge_run(outcome, step, options.command.front());
  if (outcome.exec_error != 0) {
    std::cerr << "lull run: " << verdict.meaning << "\n";
  } else if (verdict.exit_code == 0 || verdict.exit_code == kExitPreempted) {
    log::info("exit " + std::to_string(verdict.exit_code) + ": " + verdict.meaning);
  } else {
    log::error("exit " + std::to_string(verdict.exit_code) + ": " + verdict.meaning);
  }
  if (options.exit_file) {
    // The job's code is the contract; a watcher that finds no exit file
    // treats the run as lost, which is the truth as far as it can know.
    try {
      run::write_exit_file(*options.exit_file, {verdict.exit_code, verdict.meaning});
    } catch (const Error& e) {
      log::error(std::string("cannot write the exit file: ") + e.what());
    }
  }
  return verdict.exit_code;
}

}  // namespace lull::cli
