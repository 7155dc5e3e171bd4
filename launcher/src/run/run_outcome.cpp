#include "run/run_outcome.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <exception>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/exit_codes.h"
#include "lull/base/log.h"
#include "lull/checkpoint/snapshot_reader.h"
#include "lull/checkpoint/snapshot_store.h"
#include "posix/signal_name.h"

namespace lull::run {

namespace {

bool killed_by_notice_signal(const SupervisorOutcome& outcome) {
  return outcome.notice_signalled && WIFSIGNALED(outcome.wait_status) &&
         WTERMSIG(outcome.wait_status) == outcome.notice_signal;
}

// COMMAND exited with a failure after ranks took the notice: a launcher
// that reports its workers' 75 as a failure (torchrun). A launcher killed
// by a signal other than the notice's crashed: that stays a failure.
bool failed_after_the_notice_was_taken(const SupervisorOutcome& outcome) {
  const int status = outcome.wait_status;
  const bool failed = WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != kExitPreempted;
  return outcome.notice_sent && outcome.notice_taken.ranks > 0 && failed;
}

// Whether the ranks had stopped on `step` because of the notice (see the
// header): what their acknowledgements say.
std::optional<std::string> stopped_for_the_notice(const NoticeAcknowledgements& taken, std::uint64_t step) {
  if (taken.from_every_rank()) return "every rank (" + std::to_string(taken.world_size) + ") had taken the notice";
  if (taken.first_step && step >= *taken.first_step) {
    return std::to_string(taken.ranks) + " of " + std::to_string(taken.world_size) +
           " rank(s) had taken the notice at step " + std::to_string(*taken.first_step);
  }
  return std::nullopt;
}

}  // namespace

bool judged_by_snapshot(const SupervisorOutcome& outcome) {
  return outcome.escalated || killed_by_notice_signal(outcome) || failed_after_the_notice_was_taken(outcome);
}

RunVerdict judge_run(const SupervisorOutcome& outcome, std::optional<std::uint64_t> resumable_step,
                     const std::string& program) {
  if (outcome.exec_error != 0) {
    const int err = outcome.exec_error;
    const bool missing = err == ENOENT || err == ENOTDIR;
    return {missing ? kExitCommandNotFound : kExitCannotExecute,
            "cannot execute " + program + ": " + errno_error(err, "execvp", program).detail()};
  }
  const int status = outcome.wait_status;
  const bool exited = WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const std::string how = exited ? program + " exited with " + std::to_string(code)
                                 : program + " was killed by " + posix::signal_name(WTERMSIG(status));
  if (exited && code == 0) return {0, "finished"};
  if (exited && code == kExitPreempted) return {kExitPreempted, "preempted; resumable (" + how + ")"};
  if (exited && code == kExitSnapshotFailed && !outcome.escalated) {
    return {code, "failed: a snapshot the job needed could not be written (" + how + "; the job's log says why)"};
  }
  if (outcome.escalated) {
    if (resumable_step) {
      return {kExitPreempted, "preempted; " + how + " after it did not stop in time; resumable from snapshot step " +
                                  std::to_string(*resumable_step)};
    }
    return {code, "failed: " + how + " after it did not stop in time, and there is no committed snapshot to "
                  "resume from"};
  }
  if (killed_by_notice_signal(outcome)) {
    const std::string signal_how = how + ", the notice's own signal,";
    if (!resumable_step) return {code, "failed: " + signal_how + " and there is no committed snapshot to resume from"};
    if (auto why = stopped_for_the_notice(outcome.notice_taken, *resumable_step)) {
      return {kExitPreempted, "preempted; " + signal_how + " after " + *why + "; resumable from snapshot step " +
                                  std::to_string(*resumable_step)};
    }
    return {code, "failed: " + signal_how + " and no rank acknowledged the notice at or before snapshot step " +
                      std::to_string(*resumable_step) + ", the newest committed one"};
  }
  if (failed_after_the_notice_was_taken(outcome) && resumable_step) {
    if (auto why = stopped_for_the_notice(outcome.notice_taken, *resumable_step)) {
      return {kExitPreempted,
              "preempted; " + how + " after " + *why + "; resumable from snapshot step " + std::to_string(*resumable_step)};
    }
  }
  return {code, "failed: " + how};
}

std::optional<std::uint64_t> latest_resumable_step(const std::filesystem::path& ckpt_dir, const std::string& job) {
  try {
    StoreOptions options;
    options.create = false;
    SnapshotStore store(ckpt_dir, options);
    if (store.committed().empty()) return std::nullopt;
    return store.open_latest(Verification::structure, nullptr, job).step();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) log::warn("no usable snapshot in " + ckpt_dir.string() + ": " + e.what());
    return std::nullopt;
  } catch (const std::exception& e) {
    log::warn("no usable snapshot in " + ckpt_dir.string() + ": " + e.what());
    return std::nullopt;
  }
}

}  // namespace lull::run
