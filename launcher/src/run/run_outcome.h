#pragma once
// How a `lull run` ends: its exit code and the one line that explains it.
//
// The exit-code contract (docs/lull-run.md, "Exit codes"):
//   0    COMMAND finished with 0 (even after a notice: the job is done).
//   75   preempted and resumable (EX_TEMPFAIL): COMMAND exited 75, or lull
//        run had to escalate (SIGTERM/SIGKILL after the grace period, or a
//        third request) and the snapshot directory holds a committed
//        snapshot of this job that a restore accepts (latest_resumable_step),
//        which the same command run again resumes from. Also when COMMAND
//        died of the notice's own SIGUSR1 (sent by lull run; mpirun dies of
//        it while it exits) after
//        the ranks took the notice and stopped on a committed snapshot: every
//        rank acknowledged the notice, or one did and the snapshot's step is
//        at or after the step it took it at. A notice never turns a clean
//        preemption into a failure.
//   126  COMMAND was found but could not be executed; 127 not found
//        (as a shell reports them).
//   N    COMMAND's own exit code otherwise, 128+S when a signal S killed it
//        (so 137 for SIGKILL, 143 for SIGTERM) — e.g. escalation with no
//        committed snapshot: the job must start over.
// Errors of lull run itself (bad options, unusable snapshot directory) are
// main.cpp's 1 and 2.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "lull/base/exit_codes.h"
#include "run/job_supervisor.h"

namespace lull::run {

struct RunVerdict {
  int exit_code = 0;
  std::string meaning;  // "finished", "preempted; resumable from snapshot step 42", ...
};

// Pure. `resumable_step` is the newest committed snapshot's step when there
// is one (consulted only when judged_by_snapshot(outcome)); `program` is
// COMMAND[0].
RunVerdict judge_run(const SupervisorOutcome& outcome, std::optional<std::uint64_t> resumable_step,
                     const std::string& program);

// True when judge_run() needs the committed snapshot to judge `outcome`
// (lull run stopped COMMAND, its notice signal killed it, or it failed
// after ranks took the notice).
bool judged_by_snapshot(const SupervisorOutcome& outcome);

// The step of the newest committed snapshot in `ckpt_dir` that a restore of
// job `job` would accept without reading its data (SnapshotReader::open's
// checks and the job's name; Verification::structure), or nullopt when
// there is none or the directory cannot be read (logged). Never throws and
// never blocks: nothing but regular files is opened.
std::optional<std::uint64_t> latest_resumable_step(const std::filesystem::path& ckpt_dir, const std::string& job);

}  // namespace lull::run
