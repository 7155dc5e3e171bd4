#include "arbiter_recovery.h"

#include "lull/base/log.h"
#include "snapshot_watch.h"

namespace lull::arbiter {

RecoveryPlan plan_recovery(const NodeLedger& ledger, JobLauncher& launcher) {
  RecoveryPlan plan;
  for (const auto& [id, job] : ledger.jobs()) {
    if (!ledger.has_live_run(id)) continue;
    const RunRequest request = run_request_of(ledger, id);
    const std::string name = "job " + std::to_string(id) + " run " + std::to_string(job.run);
    if (std::optional<ActiveRun> run = launcher.adopt(request, job.process)) {
      log::info(name + ": adopted lull run (pid " + std::to_string(run->process.pid) + ")");
      plan.records.emplace_back(LaunchedRecord{id, job.run, run->process.pid, run->process.start_ticks});
      const auto state = ledger.status(id)->state;
      if (state == policy::JobState::noticed && !job.notice_sent) plan.effects.emplace_back(NoticeEffect{id, job.run});
      if (state == policy::JobState::killed && !job.kill_sent) plan.effects.emplace_back(KillEffect{id, job.run});
      plan.adopted.push_back(std::move(*run));
      continue;
    }
    if (std::optional<RunEnd> end = launcher.ended_while_away(request)) {
      log::info(name + ": ended while the arbiter was away: exit " + std::to_string(end->exit_code));
      plan.records.emplace_back(ExitRecord{id, job.run, end->exit_code, end->meaning});
      continue;
    }
    if (job.process) {
      const RunEnd end = lost_run_end(job.spec.ckpt_dir);
      log::warn(name + ": " + end.meaning);
      plan.records.emplace_back(ExitRecord{id, job.run, end.exit_code, end.meaning});
      continue;
    }
    if (ledger.status(id)->state != policy::JobState::running) {
      plan.records.emplace_back(ExitRecord{id, job.run, 75, "preempted before it was started"});
      continue;
    }
    log::info(name + ": was never started (the arbiter stopped first); starting it now");
    plan.effects.emplace_back(LaunchEffect{id, job.run, job.slots});
  }
  return plan;
}

}  // namespace lull::arbiter
