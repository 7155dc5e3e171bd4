// The decision core's scheduling pass: after every event, start or resume
// what fits, preempt for what does not, and report why the rest waits.
#include <algorithm>
#include <chrono>
#include <queue>
#include <string>

#include "core_state.h"
#include "victim_selection.h"

namespace lull::policy {

namespace {

struct OlderFirst {
  bool operator()(const QueueHead& a, const QueueHead& b) const { return a.order > b.order; }
};
using HeadHeap = std::priority_queue<QueueHead, std::vector<QueueHead>, OlderFirst>;

struct VictimSearch {
  std::vector<VictimCandidate> victims;  // empty: the search failed
  WaitReason failure = WaitReason::no_free_slots;
  std::optional<TimePoint> retry_at;  // when a protection lapses
};

std::string slots_text(int count) { return std::to_string(count) + (count == 1 ? " slot" : " slots"); }

// One pass's work; lives for the duration of State::schedule.
class SchedulingPass {
 public:
  SchedulingPass(DecisionCore::State& state, TimePoint now, Decision& out)
      : state_(state), now_(now), out_(out), quota_held_back_(state.policy.tenants.size(), 0) {
    budget_.cooling = state.pool.cooling();
    budget_.lull = state.pool.in_lull();
    budget_.draining = state.draining_slots;
  }

  void run() {
    for (std::size_t level = 0; level < state_.levels.size(); ++level) run_level(level);
    if (state_.queue.size() > 0) {
      if (auto lull = state_.pool.next_lull_start()) next_tick_.consider(*lull);
    }
    if (auto tick = next_tick_.earliest()) {
      out_.next_tick = out_.next_tick ? std::min(*out_.next_tick, *tick) : *tick;
    }
  }

 private:
  enum class Outcome { started, blocked };

  void run_level(std::size_t level_index) {
    const PriorityLevel& level = state_.levels[level_index];
    HeadHeap heads;
    for (const QueueHead& head : state_.queue.heads(level.tenants)) heads.push(head);
    while (!heads.empty()) {
      const QueueHead head = heads.top();
      heads.pop();
      JobRecord& job = state_.jobs.at(head.job);
      int reserve = 0;
      if (place(job, level, level_index, reserve) == Outcome::started) {
        if (auto next = state_.queue.head(head.tenant, head.need)) heads.push(*next);
        continue;
      }
      if (reserve == 0) continue;
      // A blocked job holds what it could use back from lower priorities; from
      // later jobs of its own priority only once it has waited reserve_after.
      if (saturating_elapsed(job.waiting_since, now_) >= state_.policy.reserve_after) {
        budget_.consume(reserve, job.preemptible);
      } else {
        deferred_.push_back({reserve, job.preemptible});
      }
    }
    for (const auto& [count, lull_only] : deferred_) budget_.consume(count, lull_only);
    deferred_.clear();
  }

  Outcome place(JobRecord& job, const PriorityLevel& level, std::size_t level_index, int& reserve) {
    const Tenant& tenant = state_.policy.tenants[job.tenant];
    const int quota_left = tenant.slot_quota - state_.tenant_held[job.tenant] - quota_held_back_[job.tenant];
    const int need = job.queue_need;
    if (quota_left < need) {
      // Once it has waited reserve_after, its tenant's later jobs may not take the quota it waits for.
      if (saturating_elapsed(job.waiting_since, now_) >= state_.policy.reserve_after) {
        quota_held_back_[job.tenant] += std::max(0, quota_left);
      }
      state_.report_wait(job, WaitReason::tenant_quota,
                         "tenant " + tenant.name + " holds " + std::to_string(state_.tenant_held[job.tenant]) +
                             " of its " + std::to_string(tenant.slot_quota) + " slots",
                         {}, out_);
      return Outcome::blocked;
    }
    // Resumed at its limit it could not be preempted: internal work would wait on it.
    if (const std::optional<TimePoint> lapses = state_.preemption_limit_lapses(job, now_)) {
      next_tick_.consider(*lapses);
      state_.report_wait(job, WaitReason::preemption_limit,
                         "preempted " + std::to_string(job.recent_preemptions.size()) +
                             " time(s) in the last hour; resumed once it may be preempted again",
                         lapses, out_);
      return Outcome::blocked;
    }
    const bool lull_only = job.preemptible;
    const int usable = budget_.usable(lull_only);
    if (usable >= need) {
      start(job, ranks_to_run(job, std::min(usable, quota_left), level_index));
      return Outcome::started;
    }

    reserve = usable;
    int shortfall = need - usable;
    const int from_draining = std::min(shortfall, budget_.draining);
    budget_.draining -= from_draining;
    shortfall -= from_draining;
    if (shortfall == 0) {
      state_.report_wait(job, WaitReason::victims_draining,
                         "needs " + slots_text(need) + "; preempted jobs are checkpointing", {}, out_);
      return Outcome::blocked;
    }
    if (level.may_preempt) {
      VictimSearch search = find_victims(job, shortfall);
      if (!search.victims.empty()) {
        for (const VictimCandidate& victim : search.victims) {
          state_.notify(state_.jobs.at(victim.job), now_, job.id, out_);
        }
        state_.report_wait(job, WaitReason::victims_draining,
                           "preempted " + std::to_string(search.victims.size()) + " job(s) for " + slots_text(shortfall),
                           {}, out_);
        return Outcome::blocked;
      }
      if (search.failure != WaitReason::no_free_slots) {
        if (search.retry_at) next_tick_.consider(*search.retry_at);
        state_.report_wait(job, search.failure,
                           "needs " + slots_text(shortfall) + " more; " +
                               (search.failure == WaitReason::victims_protected
                                    ? "the jobs it could preempt have not run their min_runtime"
                                    : "the jobs it could preempt reached max_preemptions_per_hour"),
                           search.retry_at, out_);
        return Outcome::blocked;
      }
    }
    report_blocked_without_preemption(job, need, lull_only);
    return Outcome::blocked;
  }

  void report_blocked_without_preemption(JobRecord& job, int need, bool lull_only) {
    const int free_now = lull_only ? state_.pool.in_lull() : state_.pool.free();
    if (free_now >= need) {
      state_.report_wait(job, WaitReason::held_for_other_job,
                         "free slots are held for an earlier or higher-priority job", {}, out_);
    } else if (lull_only && state_.pool.free() >= need) {
      state_.report_wait(job, WaitReason::lull_not_begun,
                         "free slots must idle " + format_duration(state_.policy.idle_before_lull) + " first",
                         state_.pool.next_lull_start(), out_);
    } else {
      state_.report_wait(job, WaitReason::no_free_slots,
                         "needs " + slots_text(need) + ", " + slots_text(free_now) + " free", {}, out_);
    }
  }

  // How many ranks a job that fits starts on; `available` >= job.queue_need.
  int ranks_to_run(const JobRecord& job, int available, std::size_t level_index) const {
    if (!job.has_run) return job.requested_ranks;
    int ranks = std::min(job.ranks, available);  // fewer only when allowed: queue_need says so
    if (state_.policy.resume_on_more_ranks && available > job.ranks && nobody_else_waits(level_index)) {
      ranks = std::min(available, job.max_ranks);
    }
    return ranks;
  }

  // True when the job being placed is the only one waiting at this level or below.
  bool nobody_else_waits(std::size_t level_index) const {
    std::size_t waiting = 0;
    for (std::size_t level = level_index; level < state_.levels.size(); ++level) {
      for (std::size_t tenant : state_.levels[level].tenants) waiting += state_.queue.size_of(tenant);
    }
    return waiting <= 1;
  }

  void start(JobRecord& job, int ranks) {
    state_.queue.remove(job.queue_entry());
    budget_.consume(ranks, job.preemptible);
    const int previous_ranks = job.ranks;
    job.slots = state_.pool.take(ranks, job.preemptible);
    job.ranks = ranks;
    state_.tenant_held[job.tenant] += ranks;
    const bool resume = job.has_run;
    job.has_run = true;
    job.state = JobState::running;
    job.started_at = now_;
    job.reported_wait.reset();
    ++state_.running_jobs;
    ++state_.running_version;
    state_.list_preemptible(job);
    if (resume) {
      emit(out_, ResumeAction{job.id, job.slots, previous_ranks});
    } else {
      emit(out_, StartAction{job.id, job.slots});
    }
  }

  VictimSearch find_victims(JobRecord& job, int needed) {
    if (job.failed_search_version == state_.running_version && now_ < job.failed_search_retry_at) {
      VictimSearch cached;
      cached.failure = job.failed_search_reason;
      if (job.failed_search_retry_at != TimePoint::max()) cached.retry_at = job.failed_search_retry_at;
      return cached;
    }
    VictimSearch search;
    std::vector<VictimCandidate> candidates;
    int protected_jobs = 0;
    int limited_jobs = 0;
    TimePoint retry_at = TimePoint::max();
    for (JobId id : state_.preemptible_running) {
      JobRecord& victim = state_.jobs.at(id);
      if (victim.priority >= job.priority) continue;
      const JobClass& victim_class = state_.policy.classes[victim.job_class];
      if (saturating_elapsed(victim.started_at, now_) < victim_class.min_runtime) {
        ++protected_jobs;
        retry_at = std::min(retry_at, saturating_add(victim.started_at, victim_class.min_runtime));
        continue;
      }
      if (const std::optional<TimePoint> lapses = state_.preemption_limit_lapses(victim, now_)) {
        ++limited_jobs;
        retry_at = std::min(retry_at, *lapses);
        continue;
      }
      candidates.push_back({id, victim.ranks, victim.priority, victim.started_at,
                            estimate_work_lost(victim.ranks, victim.started_at, victim_class.checkpoint_interval, now_)});
    }
    search.victims = choose_victims(std::move(candidates), needed, state_.policy.victim_order);
    if (!search.victims.empty()) return search;
    search.failure = protected_jobs > 0  ? WaitReason::victims_protected
                     : limited_jobs > 0 ? WaitReason::preemption_limit
                                        : WaitReason::no_free_slots;
    if (retry_at != TimePoint::max()) search.retry_at = retry_at;
    job.failed_search_version = state_.running_version;
    job.failed_search_retry_at = retry_at;
    job.failed_search_reason = search.failure;
    return search;
  }

  DecisionCore::State& state_;
  TimePoint now_;
  Decision& out_;
  PassBudget budget_;
  std::vector<std::pair<int, bool>> deferred_;  // (slots, lull_only) held from lower levels only
  TimeOfNextTick next_tick_;
  std::vector<int> quota_held_back_;  // per tenant: quota kept for its long-waiting jobs
};

}  // namespace

std::optional<TimePoint> DecisionCore::State::preemption_limit_lapses(JobRecord& job, TimePoint now) {
  constexpr Duration kWindow = std::chrono::hours(1);
  const std::optional<int>& limit = policy.classes[job.job_class].max_preemptions_per_hour;
  if (!limit) return std::nullopt;
  while (!job.recent_preemptions.empty() && saturating_elapsed(job.recent_preemptions.front(), now) >= kWindow) {
    job.recent_preemptions.pop_front();
  }
  if (static_cast<int>(job.recent_preemptions.size()) < *limit) return std::nullopt;
  return saturating_add(job.recent_preemptions.front(), kWindow);
}

void DecisionCore::State::schedule(TimePoint now, Decision& out) {
  pool.advance(now);
  SchedulingPass(*this, now, out).run();
}

}  // namespace lull::policy
