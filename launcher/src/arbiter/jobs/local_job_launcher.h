#pragma once
// LocalJobLauncher — runs jobs on this node as
//   lull run --job <tenant>-<id> --ckpt-dir D --grace G [--every-seconds I|auto]
//            --exit-file D/.lull-exit-<id>-<run>.json -- mpirun -np K PROGRAM ARGS...
// (G, I: the class's grace and checkpoint_interval), one process per run:
//   - in a session of its own (setsid) and without a parent-death signal, so
//     a job outlives the arbiter and is adopted again after its restart;
//   - stdout and stderr appended to <log-dir>/<id>.log, stdin /dev/null;
//   - CUDA_VISIBLE_DEVICES = the granted slots ("0,1,2");
//     LULL_MEAN_SECONDS_BETWEEN_NOTICES = the class's observed mean time
//     between notices, once it had one (what `auto` intervals use); the arbiter's own
//     environment otherwise, without the LULL_* settings lull run sets
//     itself (LULL_LOG_LEVEL stays);
//   - as the submitter: when that is not the arbiter's uid, the child drops
//     to the submitter's uid, gid and groups (and HOME/USER/LOGNAME) before
//     exec; working directory: the submitter's (when it is gone or cannot
//     be entered, the launch fails saying so: a job never runs elsewhere).
// Notice: SIGTERM to lull run (pidfd_send_signal: never a reused pid), which
// writes the notice file and sends SIGUSR1 to mpirun. Kill: SIGKILL to every
// process of the job (lull run's descendants: it is a subreaper) and to lull
// run's process group.
// Not thread-safe; one per arbiter.

#include <filesystem>
#include <string>

#include "job_launcher.h"

namespace lull::arbiter {

struct LocalLauncherSettings {
  std::filesystem::path lull_program;  // the lull binary (the arbiter's own)
  std::string mpirun = "mpirun";       // looked up in PATH when not a path
  std::filesystem::path log_dir;       // job logs; exists
};

class LocalJobLauncher final : public JobLauncher {
 public:
  explicit LocalJobLauncher(LocalLauncherSettings settings);

  ActiveRun launch(const RunRequest& request) override;
  std::optional<ActiveRun> adopt(const RunRequest& request, const std::optional<ProcessRef>& recorded) override;
  std::optional<RunEnd> ended_while_away(const RunRequest& request) override;
  void send_notice(const ActiveRun& run) override;
  void kill(const ActiveRun& run) override;
  RunEnd collect(ActiveRun& run) override;
  void exit_journaled(const RunRequest& request) noexcept override;

  // <ckpt-dir>/.lull-exit-<job>-<run>.json
  static std::filesystem::path exit_file_of(const RunRequest& request);
  std::filesystem::path log_file_of(JobId job) const;

 private:
  LocalLauncherSettings settings_;
};

}  // namespace lull::arbiter
