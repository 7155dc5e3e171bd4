#pragma once
// What the decision core asks the caller to do: the outputs of decide().
//
// The arbiter executes them in order; the simulator models them. Contract:
//
//   StartAction   run job J for the first time on slots S with K = S.size() ranks
//                 (`lull run -- mpirun -np K ...` pinned to S). Report its exit
//                 with JobExitEvent.
//   ResumeAction  run J again, from its latest committed snapshot, on slots S
//                 with K ranks (K may differ from the last run when the policy
//                 allows elastic resume; K is within the job's min/max ranks).
//                 Same command as the first start; report its exit likewise.
//   NotifyAction  send J the preemption notice now (SIGTERM to `lull run`, which
//                 makes the job checkpoint and exit 75) with `deadline`
//                 (= now + the class's grace). Arm a timer: at the deadline,
//                 if J has not exited, send GraceExpiredEvent.
//   KillAction    kill J now (SIGKILL to its process group). Its exit still
//                 comes as a JobExitEvent; its slots are free only then.
//   WaitAction    J stays queued; `reason` says why, `detail` in words. Emitted
//                 when J starts waiting and whenever the reason changes, not
//                 on every event. `until`, when set, is when the reason may lapse.
//   RejectAction  the submit can never be served (unknown tenant, more ranks
//                 than the quota or the node, duplicate id); J is forgotten.
//
// Slots are never handed out twice: a job's slots are free again only after
// its JobExitEvent.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lull/policy/duration.h"
#include "lull/policy/events.h"

namespace lull::policy {

using SlotId = int;

struct StartAction {
  JobId job = 0;
  std::vector<SlotId> slots;  // ascending; ranks = slots.size()
};

struct ResumeAction {
  JobId job = 0;
  std::vector<SlotId> slots;  // ascending; ranks = slots.size()
  int previous_ranks = 0;     // ranks of the run that was preempted
};

struct NotifyAction {
  JobId job = 0;
  TimePoint deadline;
  JobId preempted_for = 0;    // the waiting job that needs the slots
  bool slots_removed = false; // true: noticed because its slots left the node (preempted_for unset)
};

enum class KillReason {
  grace_expired,  // noticed, did not exit by its deadline
  cancelled,      // CancelEvent
};

struct KillAction {
  JobId job = 0;
  KillReason reason = KillReason::grace_expired;
};

enum class WaitReason {
  queued_behind,        // earlier jobs of its tenant of the same size go first
  tenant_quota,         // its tenant holds its slot quota
  no_free_slots,        // the slots are busy with jobs it may not preempt
  lull_not_begun,       // free slots have not been idle for node.idle_before_lull yet
  held_for_other_job,   // free slots are held for an earlier or higher-priority waiting job
  victims_draining,     // preempted jobs are checkpointing; it starts when they exit
  victims_protected,    // would-be victims are inside their min_runtime
  preemption_limit,     // would-be victims reached max_preemptions_per_hour
};

struct WaitAction {
  JobId job = 0;
  WaitReason reason = WaitReason::queued_behind;
  std::string detail;
  std::optional<TimePoint> until;
};

struct RejectAction {
  JobId job = 0;
  std::string reason;
};

using Action = std::variant<StartAction, ResumeAction, NotifyAction, KillAction, WaitAction, RejectAction>;

struct Decision {
  std::vector<Action> actions;
  // When to send the next TickEvent at the latest so that time-driven
  // decisions (a lull beginning, a protection lapsing) are not missed;
  // nullopt: nothing is waiting on time.
  std::optional<TimePoint> next_tick;
};

// "victims_protected", ...; "grace_expired", "cancelled".
std::string_view wait_reason_name(WaitReason reason) noexcept;
std::string_view kill_reason_name(KillReason reason) noexcept;

// One line for logs and tests: "start job 7 on 4 slots [0-3]", "notify job 3 (deadline 120s, for job 7)".
std::string describe(const Action& action);

}  // namespace lull::policy
