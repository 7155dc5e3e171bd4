// The decision core's event half: what each event does to the state, before
// the scheduling pass (scheduling_pass.cpp) decides what may run.
#include "lull/policy/decision_core.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "core_state.h"
#include "lull/base/error.h"
#include "lull/base/exit_codes.h"

namespace lull::policy {

namespace {

std::vector<PriorityLevel> priority_levels(const Policy& policy) {
  std::map<int, PriorityLevel, std::greater<>> by_priority;
  for (std::size_t tenant = 0; tenant < policy.tenants.size(); ++tenant) {
    const int priority = policy.class_of(policy.tenants[tenant]).priority;
    PriorityLevel& level = by_priority[priority];
    level.priority = priority;
    level.tenants.push_back(tenant);
  }
  std::vector<PriorityLevel> levels;
  for (auto& [priority, level] : by_priority) {
    for (const JobClass& job_class : policy.classes) {
      if (job_class.preemptible && job_class.priority < priority) level.may_preempt = true;
    }
    levels.push_back(std::move(level));
  }
  return levels;
}

}  // namespace

void PassBudget::consume(int count, bool lull_only) noexcept {
  if (!lull_only) {
    const int from_cooling = std::min(count, cooling);
    cooling -= from_cooling;
    count -= from_cooling;
  }
  lull -= std::min(count, lull);
}

DecisionCore::State::State(Policy policy_in)
    : policy(std::move(policy_in)),
      pool(policy.slots, policy.idle_before_lull),
      queue(policy.tenants.size()),
      tenant_held(policy.tenants.size(), 0),
      levels(priority_levels(policy)) {}

void DecisionCore::State::enqueue(JobRecord& job, TimePoint now) {
  job.waiting_since = now;
  job.reported_wait.reset();
  job.failed_search_version.reset();
  const bool may_shrink = job.has_run && policy.resume_on_fewer_ranks;
  job.queue_need = !job.has_run ? job.requested_ranks : (may_shrink ? job.min_ranks : job.ranks);
  queue.add(job.queue_entry());
}

void DecisionCore::State::list_preemptible(JobRecord& job) {
  if (!job.preemptible) return;
  job.preemptible_index = preemptible_running.size();
  preemptible_running.push_back(job.id);
}

void DecisionCore::State::unlist_preemptible(JobRecord& job) {
  if (job.preemptible_index == JobRecord::kNotListed) return;
  const JobId last = preemptible_running.back();
  preemptible_running[job.preemptible_index] = last;
  jobs.at(last).preemptible_index = job.preemptible_index;
  preemptible_running.pop_back();
  job.preemptible_index = JobRecord::kNotListed;
}

void DecisionCore::State::notify(JobRecord& victim, TimePoint now, std::optional<JobId> preempted_for, Decision& out) {
  const JobClass& job_class = policy.classes[victim.job_class];
  unlist_preemptible(victim);
  victim.state = JobState::noticed;
  victim.deadline = saturating_add(now, job_class.grace);
  ++victim.preemptions;
  victim.recent_preemptions.push_back(now);
  draining_slots += victim.ranks;
  ++draining_jobs;
  --running_jobs;
  ++running_version;
  emit(out, NotifyAction{victim.id, victim.deadline, preempted_for.value_or(0), !preempted_for});
}

void DecisionCore::State::report_wait(JobRecord& job, WaitReason reason, std::string detail,
                                      std::optional<TimePoint> until, Decision& out) {
  if (job.reported_wait == reason) return;
  job.reported_wait = reason;
  emit(out, WaitAction{job.id, reason, std::move(detail), until});
}

void DecisionCore::State::report_queued_behind_if_unseen(JobRecord& job, Decision& out) {
  // Not the oldest of its (tenant, size) queue, so the pass did not look at it.
  if (job.waiting() && !job.reported_wait) {
    report_wait(job, WaitReason::queued_behind, "earlier jobs of its tenant and size go first", {}, out);
  }
}

void DecisionCore::State::submit(const SubmitEvent& event, TimePoint now, Decision& out) {
  auto reject = [&](std::string reason) { emit(out, RejectAction{event.job, std::move(reason)}); };
  const Tenant* tenant = policy.find_tenant(event.tenant);
  if (tenant == nullptr) return reject("no tenant \"" + event.tenant + "\" in the policy");
  if (jobs.count(event.job) != 0) return reject("a job with this id is already known");
  const int min_ranks = event.min_ranks == 0 ? event.ranks : event.min_ranks;
  const int max_ranks = event.max_ranks == 0 ? event.ranks : event.max_ranks;
  if (event.ranks < 1 || min_ranks < 1 || min_ranks > event.ranks || max_ranks < event.ranks) {
    return reject("ranks must satisfy 1 <= min_ranks <= ranks <= max_ranks (got " + std::to_string(min_ranks) +
                  " <= " + std::to_string(event.ranks) + " <= " + std::to_string(max_ranks) + ")");
  }
  if (event.ranks > tenant->slot_quota) {
    return reject(std::to_string(event.ranks) + " ranks exceed tenant " + tenant->name + "'s quota of " +
                  std::to_string(tenant->slot_quota) + " slots");
  }
  if (event.ranks > pool.size()) {
    return reject(std::to_string(event.ranks) + " ranks exceed the node's " + std::to_string(pool.size()) + " slots");
  }
  JobRecord job;
  job.id = event.job;
  job.tenant = static_cast<std::size_t>(tenant - policy.tenants.data());
  job.job_class = tenant->class_index;
  const JobClass& job_class = policy.class_of(*tenant);
  job.priority = job_class.priority;
  job.preemptible = job_class.preemptible;
  job.requested_ranks = job.ranks = event.ranks;
  job.min_ranks = min_ranks;
  job.max_ranks = max_ranks;
  job.order = next_order++;
  job.submitted_at = now;
  JobRecord& stored = jobs.emplace(job.id, std::move(job)).first->second;
  enqueue(stored, now);
  schedule(now, out);
  report_queued_behind_if_unseen(jobs.at(event.job), out);
}

void DecisionCore::State::job_exited(const JobExitEvent& event, TimePoint now, Decision& out) {
  const auto found = jobs.find(event.job);
  if (found == jobs.end() || found->second.waiting()) return;  // not running: nothing to release
  JobRecord& job = found->second;
  const bool preempted_by_lull = job.state == JobState::noticed || job.state == JobState::killed;
  if (preempted_by_lull) {
    draining_slots -= job.ranks;
    --draining_jobs;
  } else {
    unlist_preemptible(job);
    --running_jobs;
    ++running_version;
  }
  pool.give_back(job.slots, job.preemptible, now);
  tenant_held[job.tenant] -= job.ranks;
  job.slots.clear();

  const bool resumable = !job.cancel_requested && event.exit_code != kExitFinished &&
                         (preempted_by_lull || event.exit_code == kExitPreempted);
  if (resumable) {
    job.state = JobState::resumable;
    enqueue(job, now);
  } else {
    jobs.erase(found);  // finished, failed or cancelled
  }
  schedule(now, out);
  if (resumable) report_queued_behind_if_unseen(jobs.at(event.job), out);
}

void DecisionCore::State::grace_expired(const GraceExpiredEvent& event, TimePoint now, Decision& out) {
  const auto found = jobs.find(event.job);
  if (found == jobs.end()) return;
  JobRecord& job = found->second;
  if (job.state != JobState::noticed || now < job.deadline) return;  // exited already, or an early timer
  job.state = JobState::killed;
  emit(out, KillAction{job.id, KillReason::grace_expired});
}

void DecisionCore::State::slots_changed(const SlotsChangedEvent& event, TimePoint now, Decision& out) {
  if (event.slots < 0 || event.slots > kMaxNodeSlots) return;
  pool.resize(event.slots, now);
  // Preemptible jobs on slots that left are noticed (in id order, for determinism).
  std::vector<JobId> on_leaving_slots;
  for (JobId id : preemptible_running) {
    const JobRecord& job = jobs.at(id);
    if (std::any_of(job.slots.begin(), job.slots.end(), [&](SlotId slot) { return pool.is_leaving(slot); })) {
      on_leaving_slots.push_back(id);
    }
  }
  std::sort(on_leaving_slots.begin(), on_leaving_slots.end());
  for (JobId id : on_leaving_slots) notify(jobs.at(id), now, std::nullopt, out);
}

void DecisionCore::State::cancel(const CancelEvent& event, Decision& out) {
  const auto found = jobs.find(event.job);
  if (found == jobs.end()) return;
  JobRecord& job = found->second;
  switch (job.state) {
    case JobState::queued:
    case JobState::resumable:
      queue.remove(job.queue_entry());
      jobs.erase(found);
      return;
    case JobState::running:
      unlist_preemptible(job);
      --running_jobs;
      ++running_version;
      draining_slots += job.ranks;
      ++draining_jobs;
      [[fallthrough]];
    case JobState::noticed:
      job.state = JobState::killed;
      job.cancel_requested = true;
      emit(out, KillAction{job.id, KillReason::cancelled});
      return;
    case JobState::killed:
      job.cancel_requested = true;
      return;
  }
}

// ---- DecisionCore ---------------------------------------------------------------------------------

DecisionCore::DecisionCore(Policy policy) : state_(std::make_unique<State>(std::move(policy))) {}
DecisionCore::~DecisionCore() = default;
DecisionCore::DecisionCore(DecisionCore&&) noexcept = default;
DecisionCore& DecisionCore::operator=(DecisionCore&&) noexcept = default;

Decision DecisionCore::decide(const Event& event) {
  Decision out;
  State& state = *state_;
  const TimePoint now = event.now;
  std::visit(
      [&](const auto& what) {
        using E = std::decay_t<decltype(what)>;
        if constexpr (std::is_same_v<E, SubmitEvent>) {
          state.submit(what, now, out);
        } else if constexpr (std::is_same_v<E, JobExitEvent>) {
          state.job_exited(what, now, out);
        } else if constexpr (std::is_same_v<E, GraceExpiredEvent>) {
          state.grace_expired(what, now, out);
        } else if constexpr (std::is_same_v<E, TickEvent>) {
          state.schedule(now, out);
        } else if constexpr (std::is_same_v<E, SlotsChangedEvent>) {
          state.slots_changed(what, now, out);
          state.schedule(now, out);
        } else {
          state.cancel(what, out);
          state.schedule(now, out);
        }
      },
      event.what);
  return out;
}

const Policy& DecisionCore::policy() const noexcept { return state_->policy; }

std::optional<JobStatus> DecisionCore::job(JobId id) const {
  const auto found = state_->jobs.find(id);
  if (found == state_->jobs.end()) return std::nullopt;
  const JobRecord& record = found->second;
  JobStatus status;
  status.id = record.id;
  status.tenant = state_->policy.tenants[record.tenant].name;
  status.job_class = state_->policy.classes[record.job_class].name;
  status.state = record.state;
  status.ranks = record.ranks;
  status.slots = record.slots;
  status.submitted_at = record.submitted_at;
  if (record.has_run) status.started_at = record.started_at;
  status.preemptions = record.preemptions;
  if (record.waiting()) status.waiting_for = record.reported_wait;
  return status;
}

ClusterSummary DecisionCore::summary() const {
  ClusterSummary summary;
  summary.slots = state_->pool.size();
  summary.free_slots = state_->pool.free();
  summary.lull_slots = state_->pool.in_lull();
  int busy = 0;
  for (int held : state_->tenant_held) busy += held;
  summary.busy_slots = busy;
  summary.running_jobs = state_->running_jobs;
  summary.draining_jobs = state_->draining_jobs;
  summary.waiting_jobs = state_->queue.size();
  return summary;
}

std::string_view job_state_name(JobState state) noexcept {
  switch (state) {
    case JobState::queued: return "queued";
    case JobState::running: return "running";
    case JobState::noticed: return "noticed";
    case JobState::killed: return "killed";
    case JobState::resumable: return "resumable";
  }
  return "unknown";
}

}  // namespace lull::policy
