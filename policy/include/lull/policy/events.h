#pragma once
// What happens to the cluster: the inputs of the decision core (decide()).
//
// Each event carries the time it happened; the core has no other notion of
// time. Events must come in non-decreasing time order.

#include <cstdint>
#include <string>
#include <variant>

#include "lull/policy/duration.h"

namespace lull::policy {

// Chosen by the caller (the arbiter numbers its jobs); unique among the jobs
// the core knows, may be reused once a job has ended.
using JobId = std::uint64_t;

// A new job. Its class is its tenant's. `ranks` is what it asks for and
// starts on; min_ranks/max_ranks (0: equal to ranks) bound the rank counts it
// may be resumed on after a preemption, when the policy allows elastic resume.
struct SubmitEvent {
  JobId job = 0;
  std::string tenant;
  int ranks = 1;
  int min_ranks = 0;
  int max_ranks = 0;
};

// The job's process ended (the arbiter saw `lull run` exit): 0 finished,
// 75 stopped by preemption and resumable, anything else failed. A job lull
// preempted (noticed or killed) is resumed whatever its code except 0: it
// restarts from its last committed snapshot.
struct JobExitEvent {
  JobId job = 0;
  int exit_code = 0;
};

// The deadline of a NotifyAction passed (the arbiter's timer for it fired).
struct GraceExpiredEvent {
  JobId job = 0;
};

// Time passed: lulls may begin, anti-thrash protections may lapse. Send one at
// Decision::next_tick (or periodically).
struct TickEvent {};

// The node now has `slots` slots (ids 0..slots-1). Removed slots that are
// busy are given back when their job ends; preemptible jobs on them are noticed.
struct SlotsChangedEvent {
  int slots = 0;
};

// Stop a job for good: a queued one is dropped, a running one killed.
struct CancelEvent {
  JobId job = 0;
};

using EventKind = std::variant<SubmitEvent, JobExitEvent, GraceExpiredEvent, TickEvent, SlotsChangedEvent, CancelEvent>;

struct Event {
  TimePoint now;
  EventKind what;
};

}  // namespace lull::policy
