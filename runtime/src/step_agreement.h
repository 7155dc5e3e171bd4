#pragma once
// StepAgreement — one decision per step, the same on every rank.
//
// Each rank votes at the end of every step with what it alone knows (a
// preemption notice and its deadline, a time-based checkpoint being due).
// The votes of step k travel in a non-blocking allreduce that overlaps step
// k+1; at the end of step k+1 every rank waits for it (by then it is almost
// always complete) and acts on the same combined vote. A notice seen by one
// rank, or by ranks in different steps, thus turns into the same decision at
// the same step on all of them, one step later, for a few microseconds per
// step when nothing happens.
//
// A vote cast before the latest commit is stale for its checkpoint: that
// commit reset every rank's timer, so its checkpoint_due is dropped (its
// notice never is).
//
// Collective: every rank calls vote() once per step, in the same order as
// its other collectives on the communicator. Not thread-safe.

#include <cstdint>
#include <deque>
#include <optional>

#include "lull/collectives/communicator.h"

namespace lull::detail {

struct Vote {
  bool notice = false;         // a preemption notice arrived
  double deadline_unix = 0;    // its deadline (when notice)
  bool checkpoint_due = false; // a time-based checkpoint is due
};

// What all ranks voted: a notice if any rank saw one (the earliest deadline
// among them); a checkpoint if any rank's timer said so.
struct AgreedVote {
  std::uint64_t step = 0;  // the step the votes were cast after
  Vote vote;
};

class StepAgreement {
 public:
  explicit StepAgreement(Communicator& comm) : comm_(comm) {}

  // Casts this rank's vote for `step` and returns the combined vote of the
  // previous call, if there was one (blocking only until that completes),
  // with checkpoint_due dropped when it was cast at or before the latest
  // committed() step.
  std::optional<AgreedVote> vote(std::uint64_t step, const Vote& mine);

  // A snapshot of `step` was committed or restored (every rank alike).
  void committed(std::uint64_t step) noexcept { last_committed_ = step; }

  // Blocking: combines `mine` with every rank's right now (after a
  // checkpoint or a restore, when nobody minds waiting).
  Vote agree_now(const Vote& mine);

  // Completes the votes still in flight and forgets them (before the
  // program stops or finishes: every rank cast the same ones).
  void drain();

 private:
  struct InFlight {
    std::uint64_t step;
    PendingAllreduce handle;
  };
  Communicator& comm_;
  std::deque<InFlight> in_flight_;
  std::optional<std::uint64_t> last_committed_;
};

}  // namespace lull::detail
