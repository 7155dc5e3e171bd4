#pragma once
// Ranking preemption victims and choosing as few as cover a need.

#include <cstdint>
#include <vector>

#include "lull/policy/events.h"
#include "lull/policy/policy.h"

namespace lull::policy {

// A running job that may be preempted now (protections already checked).
struct VictimCandidate {
  JobId job = 0;
  int ranks = 0;
  int priority = 0;
  TimePoint started_at;
  // Estimated slot-milliseconds a preemption now would lose: ranks times the
  // time since its last periodic snapshot (since its start when it takes none).
  std::int64_t work_lost = 0;
};

// Estimates work_lost for a job that started at `started_at` and commits a
// snapshot every `checkpoint_interval` (0: never periodically). Pure.
std::int64_t estimate_work_lost(int ranks, TimePoint started_at, Duration checkpoint_interval, TimePoint now);

// Ranks `candidates` by `order` (then lowest job id) and takes them in that
// order until they hold `needed` slots, then spares every chosen victim,
// least preferred first, whose slots are not needed to cover `needed`.
// Returns the chosen jobs in rank order; empty when all of them together
// cannot cover `needed`. Pure, deterministic; O(n log n).
std::vector<VictimCandidate> choose_victims(std::vector<VictimCandidate> candidates, int needed,
                                            const std::vector<VictimCriterion>& order);

}  // namespace lull::policy
