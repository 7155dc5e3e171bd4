#pragma once
// A workout for the decision core: a busy node built from the policy itself,
// run the way the arbiter runs it, with the contract of every decision checked.
//
// Every tenant (the first 8) submits three jobs (one rank; its whole quota;
// half of it, elastic between 1 rank and its quota). Jobs run for lengths
// from a millisecond to past every policy limit; noticed jobs either exit 75
// at once or ignore the notice until the grace timer fires and they are
// killed; one job is cancelled; the node loses half its slots (noticing
// the preemptible jobs on them) and gets them back.
// Ticks come at Decision::next_tick, grace timers at the notice's deadline,
// in time order from `start` (which may be near the ends of TimePoint's
// range, so that sums of the policy's values and event times saturate).
//
// Checked on every decision: starts and resumes only of waiting jobs, on
// distinct free slots of the node, with a rank count the job allows; notices
// only to running jobs, deadline = now + grace (saturated); kills only of
// running or noticed jobs; next_tick not in the past; the core's busy slots
// equal the slots its jobs hold. The core itself runs under whatever
// sanitizers the build has (UBSan: no overflow anywhere).

#include <cstddef>
#include <string>
#include <vector>

#include "lull/policy/decision_core.h"

namespace lull::policy::test {

struct WorkoutReport {
  std::size_t decisions = 0;
  std::size_t starts = 0;
  std::size_t notices = 0;
  std::size_t kills = 0;
  std::vector<std::string> broken;  // one line per broken property, empty when all held
};

// `policy` must be valid and small (its slots are allocated: scale a large
// one down first). Deterministic; at most `max_decisions` decisions.
WorkoutReport work_out(const Policy& policy, TimePoint start, std::size_t max_decisions = 400);

}  // namespace lull::policy::test
