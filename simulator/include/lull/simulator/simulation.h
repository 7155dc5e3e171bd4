#pragma once
// Replays a job trace through the policy's decision core on a simulated node:
// the same DecisionCore the arbiter runs, with simulated jobs answering its
// actions (exits, notice checkpoints, kills) and a discrete-event clock.
//
// Job model: a job needs `duration` of compute on `ranks` ranks; on k ranks
// it runs k/ranks as fast. Every class checkpoint_interval of compute it
// stops for `checkpoint_cost` to commit a snapshot. Noticed, it writes a
// snapshot (checkpoint_cost) and exits 75 when that fits in the grace period
// (nothing lost); otherwise it is killed at the deadline and loses what it
// computed since its last periodic snapshot. Resumed, it continues from what
// it saved. Deterministic: same inputs, same figures.

#include <cstddef>
#include <optional>
#include <vector>

#include "lull/policy/policy.h"
#include "lull/simulator/job_trace.h"

namespace lull::simulator {

struct SimulationFigures {
  int slots = 0;
  policy::Duration window{0};    // [0, last submit]: the span the capacity figures cover
  policy::Duration makespan{0};  // when the last job ended
  std::size_t events = 0;        // decisions taken

  // Slot-milliseconds inside the window.
  double capacity = 0;
  double internal_used = 0;  // by jobs of non-preemptible classes
  double tenant_used = 0;    // by jobs of preemptible classes

  // Preemptions.
  std::size_t notices = 0;
  std::size_t kills_at_deadline = 0;
  std::size_t rejected = 0;

  // Tenant work, slot-milliseconds over the whole run.
  double tenant_held = 0;         // slot-time tenants' jobs held
  double tenant_useful = 0;       // compute that counted toward completion
  double tenant_lost = 0;         // compute thrown away (killed since the last snapshot)
  double tenant_checkpointing = 0;

  std::size_t internal_jobs = 0;
  std::size_t tenant_jobs = 0;
  std::size_t finished_jobs = 0;
  std::size_t failed_jobs = 0;  // never finished (rejected, or the trace ended with them unserved)
  // Per trace row: when it first started (nullopt: never, or not simulated).
  std::vector<std::optional<policy::TimePoint>> first_start;
};

// The policy on a node of `slots` slots: each tenant's quota keeps its share
// of the node (rounded, at least 1 slot). Pure.
policy::Policy scale_policy_to_slots(policy::Policy policy, int slots);

// Runs the trace (only the rows for which include[i] is true, when given) on
// `slots` slots, the policy scaled to them (scale_policy_to_slots). Throws lull::Error(invalid_argument) when a row names a
// tenant the policy lacks or a class that is not its tenant's.
SimulationFigures simulate(const policy::Policy& policy, const std::vector<TraceJob>& trace, int slots,
                           const std::vector<bool>* include = nullptr);

}  // namespace lull::simulator
