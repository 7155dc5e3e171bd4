#include "status_report.h"

namespace lull::arbiter {

namespace {

double unix_seconds(TimePoint time) { return static_cast<double>(time.time_since_epoch().count()) / 1000.0; }

template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  if (value) return *value;
  return nullptr;
}

}  // namespace

nlohmann::json status_report(const NodeLedger& ledger, uid_t viewer, bool sees_all, bool draining,
                             const std::function<std::filesystem::path(JobId)>& log_of) {
  const policy::ClusterSummary summary = ledger.core().summary();
  nlohmann::json node = {{"slots", summary.slots},
                         {"free_slots", summary.free_slots},
                         {"lull_slots", summary.lull_slots},
                         {"busy_slots", summary.busy_slots},
                         {"busy_by_class", ledger.busy_slots_by_class()},
                         {"running_jobs", summary.running_jobs + summary.draining_jobs},
                         {"waiting_jobs", summary.waiting_jobs},
                         {"draining", draining}};
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& [id, job] : ledger.jobs()) {
    if (!sees_all && job.spec.uid != viewer) continue;
    const auto status = ledger.status(id);
    if (!status) continue;
    nlohmann::json waiting_for = nullptr;
    if (status->waiting_for) waiting_for = std::string(policy::wait_reason_name(*status->waiting_for));
    jobs.push_back({{"job", id},
                    {"tenant", job.spec.tenant},
                    {"class", job.spec.job_class},
                    {"uid", job.spec.uid},
                    {"state", std::string(policy::job_state_name(status->state))},
                    {"waiting_for", waiting_for},
                    {"ranks", status->ranks},
                    {"slots", status->slots},
                    {"run", job.run},
                    {"preemptions", status->preemptions},
                    {"step", or_null(job.last_step)},
                    {"pid", job.process ? nlohmann::json(job.process->pid) : nlohmann::json(nullptr)},
                    {"submitted", unix_seconds(status->submitted_at)},
                    {"started", status->started_at ? nlohmann::json(unix_seconds(*status->started_at)) : nlohmann::json(nullptr)},
                    {"program", job.spec.program},
                    {"args", job.spec.args},
                    {"ckpt_dir", job.spec.ckpt_dir},
                    {"log", log_of(id).string()}});
  }
  nlohmann::json ended = nlohmann::json::array();
  for (const EndedJob& job : ledger.ended()) {
    if (!sees_all && job.uid != viewer) continue;
    ended.push_back({{"job", job.id},
                     {"tenant", job.tenant},
                     {"class", job.job_class},
                     {"uid", job.uid},
                     {"outcome", job.outcome},
                     {"exit_code", or_null(job.exit_code)},
                     {"step", or_null(job.last_step)},
                     {"reason", job.reason},
                     {"runs", job.runs},
                     {"ended", unix_seconds(job.ended)}});
  }
  return {{"node", node}, {"jobs", jobs}, {"ended", ended}};
}

}  // namespace lull::arbiter
