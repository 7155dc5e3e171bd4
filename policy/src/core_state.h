#pragma once
// The decision core's state and its two halves: event handling
// (decision_core.cpp) and the scheduling pass (scheduling_pass.cpp).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

#include "lull/policy/decision_core.h"
#include "slot_pool.h"
#include "waiting_queue.h"

namespace lull::policy {

// Appends to out.actions. Out of line on purpose: GCC 12 reports a false
// maybe-uninitialized when vector<variant>::push_back is inlined into callers.
void emit(Decision& out, Action action);

struct JobRecord {
  JobId id = 0;
  std::size_t tenant = 0;
  std::size_t job_class = 0;
  int priority = 0;
  bool preemptible = false;
  int requested_ranks = 0;
  int min_ranks = 0;
  int max_ranks = 0;
  int ranks = 0;  // of the current or last run; requested_ranks before the first
  std::vector<SlotId> slots;
  JobState state = JobState::queued;
  std::uint64_t order = 0;  // submit order; kept when requeued after a preemption
  int queue_need = 0;       // while waiting: its key in the WaitingQueue
  TimePoint submitted_at;
  TimePoint waiting_since;
  TimePoint started_at;
  TimePoint deadline;       // of the notice, while noticed
  bool has_run = false;
  bool cancel_requested = false;
  int preemptions = 0;
  std::deque<TimePoint> recent_preemptions;  // within the last hour, oldest first
  std::optional<WaitReason> reported_wait;
  std::size_t preemptible_index = kNotListed;  // in State::preemptible_running
  // A victim search that failed stays failed until the running set changes or `retry_at`.
  std::optional<std::uint64_t> failed_search_version;
  TimePoint failed_search_retry_at;
  WaitReason failed_search_reason = WaitReason::no_free_slots;

  static constexpr std::size_t kNotListed = std::numeric_limits<std::size_t>::max();
  bool waiting() const noexcept { return state == JobState::queued || state == JobState::resumable; }
  QueueHead queue_entry() const { return {order, id, tenant, queue_need}; }
};

// Jobs of one priority, by tenant (every tenant's class has this priority).
struct PriorityLevel {
  int priority = 0;
  std::vector<std::size_t> tenants;
  bool may_preempt = false;  // some preemptible class has a lower priority
};

// What one pass may still hand out (slots reserved for blocked jobs are gone from it).
struct PassBudget {
  int cooling = 0;
  int lull = 0;
  int draining = 0;  // held by noticed/killed jobs, free once they exit

  int usable(bool lull_only) const noexcept { return lull_only ? lull : cooling + lull; }
  // The same order SlotPool::take uses: cooling first unless lull_only.
  void consume(int count, bool lull_only) noexcept;
};

class TimeOfNextTick {
 public:
  void consider(TimePoint time) { earliest_ = earliest_ ? std::min(*earliest_, time) : time; }
  std::optional<TimePoint> earliest() const noexcept { return earliest_; }

 private:
  std::optional<TimePoint> earliest_;
};

struct DecisionCore::State {
  explicit State(Policy policy_in);

  Policy policy;
  SlotPool pool;
  WaitingQueue queue;
  std::unordered_map<JobId, JobRecord> jobs;
  std::vector<int> tenant_held;                  // slots held per tenant
  std::vector<PriorityLevel> levels;             // highest priority first
  std::vector<JobId> preemptible_running;        // running (not noticed) jobs of preemptible classes
  int draining_slots = 0;                        // held by noticed and killed jobs
  std::size_t draining_jobs = 0;
  std::size_t running_jobs = 0;
  std::uint64_t next_order = 0;
  std::uint64_t running_version = 0;             // bumped whenever a job starts or stops running

  // --- decision_core.cpp: events --------------------------------------------------------------
  void submit(const SubmitEvent& event, TimePoint now, Decision& out);
  void job_exited(const JobExitEvent& event, TimePoint now, Decision& out);
  void grace_expired(const GraceExpiredEvent& event, TimePoint now, Decision& out);
  void slots_changed(const SlotsChangedEvent& event, TimePoint now, Decision& out);
  void cancel(const CancelEvent& event, Decision& out);

  // --- bookkeeping shared by both halves -------------------------------------------------------
  void enqueue(JobRecord& job, TimePoint now);
  void list_preemptible(JobRecord& job);
  void unlist_preemptible(JobRecord& job);
  void notify(JobRecord& victim, TimePoint now, std::optional<JobId> preempted_for, Decision& out);
  void report_wait(JobRecord& job, WaitReason reason, std::string detail, std::optional<TimePoint> until,
                   Decision& out);
  void report_queued_behind_if_unseen(JobRecord& job, Decision& out);
  // For a job of a class with max_preemptions_per_hour: drops preemptions
  // older than an hour; returns when the oldest remaining one leaves the
  // window if the job is at its limit (it may not be preempted before then).
  std::optional<TimePoint> preemption_limit_lapses(JobRecord& job, TimePoint now);

  // --- scheduling_pass.cpp ---------------------------------------------------------------------
  // Starts, resumes, preempts and reports waits until nothing more can move.
  void schedule(TimePoint now, Decision& out);
};

}  // namespace lull::policy
