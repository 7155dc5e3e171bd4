#include "node_ledger.h"

#include <algorithm>
#include <iterator>
#include <type_traits>

#include "lull/base/error.h"
#include "lull/policy/policy_loader.h"

namespace lull::arbiter {

namespace {

policy::Policy policy_of(const JournalHeader& header) {
  policy::PolicyLoadResult loaded = policy::load_policy_text(header.policy_text, header.policy_source);
  if (!loaded.policy) {
    std::string issues;
    for (const auto& issue : loaded.issues) issues += "\n  " + issue.describe();
    throw Error(ErrorCode::invalid_argument, "the journal's policy does not load any more:" + issues);
  }
  if (header.slots > 0) loaded.policy->slots = header.slots;
  return std::move(*loaded.policy);
}

double seconds_between(TimePoint from, TimePoint to) { return policy::to_seconds(to - from); }

std::string slot_count(std::size_t count) { return std::to_string(count) + (count == 1 ? " slot" : " slots"); }

}  // namespace

NodeLedger::NodeLedger(const JournalHeader& header)
    : core_(policy_of(header)), counters_(header.counters), next_job_(header.next_job) {}

std::vector<Effect> NodeLedger::apply(const JournalRecord& record) {
  std::vector<Effect> out;
  const TimePoint now = std::max(record.time, last_time_);
  last_time_ = now;
  std::visit([&](const auto& what) { on(what, now, out); }, record.what);
  return out;
}

bool NodeLedger::has_live_run(JobId job) const {
  const auto status = core_.job(job);
  return status && (status->state == policy::JobState::running || status->state == policy::JobState::noticed ||
                    status->state == policy::JobState::killed);
}

bool NodeLedger::any_live_run() const {
  for (const auto& [id, job] : jobs_) {
    if (has_live_run(id)) return true;
  }
  return false;
}

const EndedJob* NodeLedger::ended_job(JobId job) const {
  for (const EndedJob& ended : ended_) {
    if (ended.id == job) return &ended;
  }
  return nullptr;
}

std::optional<TimePoint> NodeLedger::next_wakeup() const {
  std::optional<TimePoint> wakeup;
  if (next_tick_ && (!last_tick_ || *next_tick_ > *last_tick_)) wakeup = next_tick_;
  for (const auto& [id, job] : jobs_) {
    if (job.deadline && (!wakeup || *job.deadline < *wakeup)) wakeup = job.deadline;
  }
  return wakeup;
}

std::vector<RecordKind> NodeLedger::due_at(TimePoint now) const {
  std::vector<RecordKind> due;
  for (const auto& [id, job] : jobs_) {
    if (job.deadline && *job.deadline <= now) due.emplace_back(GraceRecord{id});
  }
  if (next_tick_ && *next_tick_ <= now && (!last_tick_ || *next_tick_ > *last_tick_)) due.emplace_back(TickRecord{});
  return due;
}

std::map<std::string, int> NodeLedger::busy_slots_by_class() const {
  std::map<std::string, int> busy;
  for (const auto& job_class : policy().classes) busy[job_class.name] = 0;
  for (const auto& [id, job] : jobs_) {
    if (has_live_run(id)) busy[job.spec.job_class] += static_cast<int>(job.slots.size());
  }
  return busy;
}

ArbiterEvent NodeLedger::event_of(const LedgerJob& job, std::string name, TimePoint now, std::string reason) const {
  ArbiterEvent event;
  event.time = now;
  event.event = std::move(name);
  event.job = job.id;
  event.tenant = job.spec.tenant;
  event.job_class = job.spec.job_class;
  event.slots = job.slots;
  event.ranks = job.slots.empty() ? job.spec.ranks : static_cast<int>(job.slots.size());
  event.step = job.last_step;
  event.reason = std::move(reason);
  return event;
}

void NodeLedger::decide(TimePoint now, policy::EventKind what, std::vector<Effect>& out) {
  const bool schedules = !std::holds_alternative<policy::GraceExpiredEvent>(what);
  const policy::Decision decision = core_.decide({now, std::move(what)});
  // Every event but a grace expiry runs a scheduling pass, whose next_tick is
  // the whole node's; a grace expiry leaves the previous one standing.
  if (schedules || decision.next_tick) next_tick_ = decision.next_tick;
  for (const policy::Action& action : decision.actions) act(action, now, out);
}

void NodeLedger::act(const policy::Action& action, TimePoint now, std::vector<Effect>& out) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        const auto found = jobs_.find(a.job);
        if (found == jobs_.end()) return;  // cannot happen: the core knows only jobs submitted here
        LedgerJob& job = found->second;
        ClassCounters& counters = counters_.by_class[job.spec.job_class];
        if constexpr (std::is_same_v<A, policy::StartAction> || std::is_same_v<A, policy::ResumeAction>) {
          const bool resume = job.run > 0;
          ++job.run;
          job.slots = a.slots;
          job.process.reset();
          job.notice_sent = job.kill_sent = false;
          job.run_started = now;
          job.noticed_at.reset();
          job.deadline.reset();
          job.last_step_at.reset();
          ++(resume ? counters.resumed : counters.started);
          std::string reason = "run " + std::to_string(job.run) + " on " + slot_count(a.slots.size());
          if (resume) {
            reason += job.last_step ? ", from snapshot step " + std::to_string(*job.last_step) : ", from the start";
          }
          out.emplace_back(EventEffect{event_of(job, resume ? "resume" : "start", now, reason)});
          out.emplace_back(LaunchEffect{job.id, job.run, a.slots});
        } else if constexpr (std::is_same_v<A, policy::NotifyAction>) {
          job.noticed_at = now;
          job.deadline = a.deadline;
          ++counters.preemptions;
          std::string reason = a.slots_removed ? "its slots left the node" : "preempted for job " + std::to_string(a.preempted_for);
          reason += "; grace " + policy::format_duration(a.deadline - now);
          out.emplace_back(EventEffect{event_of(job, "notice", now, reason)});
          out.emplace_back(NoticeEffect{job.id, job.run});
        } else if constexpr (std::is_same_v<A, policy::KillAction>) {
          job.deadline.reset();
          ++counters.kills;
          out.emplace_back(EventEffect{event_of(job, "kill", now, std::string(policy::kill_reason_name(a.reason)))});
          out.emplace_back(KillEffect{job.id, job.run});
        } else if constexpr (std::is_same_v<A, policy::WaitAction>) {
          out.emplace_back(EventEffect{
              event_of(job, "wait", now, std::string(policy::wait_reason_name(a.reason)) + ": " + a.detail)});
        } else {  // RejectAction
          ++counters.rejected;
          out.emplace_back(EventEffect{event_of(job, "reject", now, a.reason)});
          end_job(job, "rejected", a.reason, now);
        }
      },
      action);
}

void NodeLedger::end_job(LedgerJob& job, const std::string& outcome, const std::string& reason, TimePoint now) {
  EndedJob ended;
  ended.id = job.id;
  ended.tenant = job.spec.tenant;
  ended.job_class = job.spec.job_class;
  ended.uid = job.spec.uid;
  ended.outcome = outcome;
  ended.exit_code = job.last_exit_code;
  ended.last_step = job.last_step;
  ended.reason = reason;
  ended.runs = job.run;
  ended.ended = now;
  ended_.push_back(std::move(ended));
  if (ended_.size() > kEndedKept) ended_.pop_front();
  const JobId id = job.id;  // a copy: `job` dies with the erase
  jobs_.erase(id);
}

void NodeLedger::end_if_forgotten(JobId id, TimePoint now, std::vector<Effect>& out) {
  const auto found = jobs_.find(id);
  if (found == jobs_.end() || core_.job(id)) return;
  LedgerJob& job = found->second;
  ClassCounters& counters = counters_.by_class[job.spec.job_class];
  if (job.cancel_requested) {
    ++counters.cancelled;
    end_job(job, "cancelled", "cancelled", now);
    return;
  }
  const bool finished = job.last_exit_code == 0;
  ++(finished ? counters.finished : counters.failed);
  ArbiterEvent event = event_of(job, finished ? "finish" : "failed", now, finished ? "finished" : "failed");
  event.exit_code = job.last_exit_code;
  out.emplace_back(EventEffect{std::move(event)});
  std::string failure = "exit code " + std::to_string(job.last_exit_code.value_or(-1));
  if (!job.last_exit_meaning.empty()) failure += ": " + job.last_exit_meaning;
  end_job(job, finished ? "finished" : "failed", finished ? "finished" : failure, now);
}

void NodeLedger::on(const SubmitRecord& r, TimePoint now, std::vector<Effect>& out) {
  next_job_ = std::max(next_job_, r.job + 1);
  LedgerJob job;
  job.id = r.job;
  job.spec = r.spec;
  ++counters_.by_class[r.spec.job_class].submitted;
  LedgerJob& stored = jobs_.insert_or_assign(r.job, std::move(job)).first->second;
  out.emplace_back(EventEffect{event_of(stored, "submit", now, stored.spec.program)});
  decide(now, policy::SubmitEvent{r.job, r.spec.tenant, r.spec.ranks, r.spec.min_ranks, r.spec.max_ranks}, out);
}

void NodeLedger::on(const ExitRecord& r, TimePoint now, std::vector<Effect>& out) {
  const auto found = jobs_.find(r.job);
  if (found == jobs_.end() || found->second.run != r.run || !has_live_run(r.job)) return;  // stale
  LedgerJob& job = found->second;
  ClassCounters& counters = counters_.by_class[job.spec.job_class];
  if (job.noticed_at) counters_.notice_to_exit.observe(seconds_between(*job.noticed_at, now));
  if (r.exit_code != 0) counters.work_lost_seconds += seconds_between(job.last_step_at.value_or(job.run_started), now);
  counters.run_seconds += seconds_between(job.run_started, now);
  if (job.noticed_at) ++counters.noticed_runs;
  job.last_exit_code = r.exit_code;
  job.last_exit_meaning = r.meaning;
  ArbiterEvent event = event_of(job, "exit", now, r.meaning);
  event.exit_code = r.exit_code;
  out.emplace_back(EventEffect{std::move(event)});
  job.process.reset();
  job.deadline.reset();
  // The job's own end (finish, failed) comes before what the freed slots lead to.
  std::vector<Effect> decided;
  decide(now, policy::JobExitEvent{r.job, r.exit_code}, decided);
  end_if_forgotten(r.job, now, out);
  out.insert(out.end(), std::make_move_iterator(decided.begin()), std::make_move_iterator(decided.end()));
}

void NodeLedger::on(const GraceRecord& r, TimePoint now, std::vector<Effect>& out) {
  const auto found = jobs_.find(r.job);
  if (found == jobs_.end() || !found->second.deadline) return;
  found->second.deadline.reset();
  decide(now, policy::GraceExpiredEvent{r.job}, out);
}

void NodeLedger::on(const TickRecord&, TimePoint now, std::vector<Effect>& out) {
  last_tick_ = now;
  decide(now, policy::TickEvent{}, out);
}

void NodeLedger::on(const SlotsRecord& r, TimePoint now, std::vector<Effect>& out) {
  decide(now, policy::SlotsChangedEvent{r.slots}, out);
}

void NodeLedger::on(const CancelRecord& r, TimePoint now, std::vector<Effect>& out) {
  const auto found = jobs_.find(r.job);
  if (found == jobs_.end() || found->second.cancel_requested) return;
  found->second.cancel_requested = true;
  out.emplace_back(EventEffect{event_of(found->second, "cancel", now, "cancelled by uid " + std::to_string(r.by))});
  std::vector<Effect> decided;
  decide(now, policy::CancelEvent{r.job}, decided);
  end_if_forgotten(r.job, now, out);
  out.insert(out.end(), std::make_move_iterator(decided.begin()), std::make_move_iterator(decided.end()));
}

void NodeLedger::on(const LaunchedRecord& r, TimePoint, std::vector<Effect>&) {
  const auto found = jobs_.find(r.job);
  if (found == jobs_.end() || found->second.run != r.run) return;
  found->second.process = ProcessRef{r.pid, r.start_ticks};
}

void NodeLedger::on(const SignalledRecord& r, TimePoint, std::vector<Effect>&) {
  const auto found = jobs_.find(r.job);
  if (found == jobs_.end() || found->second.run != r.run) return;
  (r.kill ? found->second.kill_sent : found->second.notice_sent) = true;
}

void NodeLedger::on(const CheckpointRecord& r, TimePoint now, std::vector<Effect>& out) {
  const auto found = jobs_.find(r.job);
  if (found == jobs_.end()) return;
  LedgerJob& job = found->second;
  if (job.last_step && r.step <= *job.last_step) return;
  job.last_step = r.step;
  job.last_step_at = now;
  out.emplace_back(EventEffect{event_of(job, "checkpoint", now, "committed snapshot step " + std::to_string(r.step))});
}

}  // namespace lull::arbiter
