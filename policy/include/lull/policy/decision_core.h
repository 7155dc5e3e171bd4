#pragma once
// The policy's decision core: (cluster state, event) -> actions.
//
// Pure: no I/O, no clock, no randomness, no globals. The same policy and the
// same events give the same actions, in the same order, on every run: the
// arbiter, the simulator and the tests drive this one class.
//
// How it decides (each pass, after every event):
//   - Waiting jobs are taken by class priority (highest first), then in
//     submit order. A preempted job keeps its submit order, so it goes first
//     among its peers when it is resumed.
//   - Preemptible jobs only start on slots that have been idle for
//     node.idle_before_lull since a non-preemptible job left them (a lull);
//     slots a preemptible job gives back stay in the lull. Non-preemptible
//     jobs take any free slot, the most recently freed first.
//   - A job that cannot start holds the free slots it could use back from
//     lower-priority jobs, and, once it has waited scheduling.reserve_after,
//     from later jobs of its own priority: nobody starves.
//   - A job that still lacks slots preempts running jobs of preemptible
//     classes of strictly lower priority that have run min_runtime since
//     their last start and stay within max_preemptions_per_hour, ranked by
//     victims.order (ties: lowest job id), no more than it needs: a victim
//     whose slots are not needed is spared. If that cannot cover what it
//     needs, nobody is preempted and it waits (the reason is reported).
//   - Tenant quotas count every slot a tenant's jobs hold, draining included.
//   - A preempted job resumes on its previous rank count, or, when the policy
//     allows, on fewer (down to min_ranks) when that is all there is, or more
//     (up to max_ranks) when nothing else waits at its priority or below.
//
// Cost: O(log n) per job to queue; a pass looks only at the oldest job of
// each (tenant, size) queue; a victim search is O(r log r) in the number of
// running preemptible jobs. Not thread-safe: one caller at a time.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lull/policy/actions.h"
#include "lull/policy/events.h"
#include "lull/policy/policy.h"

namespace lull::policy {

enum class JobState {
  queued,     // waiting for its first start
  running,
  noticed,    // preemption notice sent, waiting for its exit
  killed,     // kill sent, waiting for its exit
  resumable,  // preempted; waiting to be resumed
};

std::string_view job_state_name(JobState state) noexcept;

// A copy of what the core knows about one job.
struct JobStatus {
  JobId id = 0;
  std::string tenant;
  std::string job_class;
  JobState state = JobState::queued;
  int ranks = 0;                      // current ranks when running; requested or last when waiting
  std::vector<SlotId> slots;          // held slots (running, noticed, killed)
  TimePoint submitted_at;
  std::optional<TimePoint> started_at;  // of the current or last run
  int preemptions = 0;
  std::optional<WaitReason> waiting_for;  // last reported wait reason while waiting
};

struct ClusterSummary {
  int slots = 0;            // the node's slots (after SlotsChanged)
  int free_slots = 0;       // idle, any
  int lull_slots = 0;       // idle and in a lull (usable by preemptible jobs)
  int busy_slots = 0;       // held by running, noticed or killed jobs
  std::size_t running_jobs = 0;
  std::size_t draining_jobs = 0;  // noticed or killed
  std::size_t waiting_jobs = 0;   // queued or resumable
};

class DecisionCore {
 public:
  // `policy` must be valid (load_policy_* returns only valid ones). Starts
  // with policy.slots free slots, already in a lull (no job has just left them).
  explicit DecisionCore(Policy policy);
  ~DecisionCore();
  DecisionCore(DecisionCore&&) noexcept;
  DecisionCore& operator=(DecisionCore&&) noexcept;
  DecisionCore(const DecisionCore&) = delete;
  DecisionCore& operator=(const DecisionCore&) = delete;

  // Applies `event` and returns what to do. Precondition: event.now is not
  // before the previous event's. Never throws for well-formed events about
  // unknown jobs (they are ignored); throws lull::Error(internal) only on a
  // broken invariant.
  Decision decide(const Event& event);

  const Policy& policy() const noexcept;
  std::optional<JobStatus> job(JobId id) const;
  ClusterSummary summary() const;

  // The state, defined only inside the library (policy/src/core_state.h).
  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace lull::policy
