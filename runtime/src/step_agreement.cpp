#include "step_agreement.h"

#include <array>
#include <cmath>
#include <limits>

namespace lull::detail {

namespace {

constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::min();

// Encoded for one MAX reduction: flags as 0/1, the deadline negated in
// milliseconds so that the maximum is the earliest one.
std::array<std::int64_t, 3> encode(const Vote& v) {
  const std::int64_t deadline =
      v.notice ? -static_cast<std::int64_t>(std::floor(v.deadline_unix * 1000.0)) : kNoDeadline;
  return {v.notice ? 1 : 0, v.checkpoint_due ? 1 : 0, deadline};
}

Vote decode(std::span<const std::int64_t> values) {
  Vote v;
  v.notice = values[0] != 0;
  v.checkpoint_due = values[1] != 0;
  if (v.notice) v.deadline_unix = static_cast<double>(-values[2]) / 1000.0;
  return v;
}

}  // namespace

std::optional<AgreedVote> StepAgreement::vote(std::uint64_t step, const Vote& mine) {
  const auto values = encode(mine);
  in_flight_.push_back({step, comm_.start_allreduce(values, ReduceOp::max)});
  for (auto& f : in_flight_) {
    if (!f.handle.done()) f.handle.test();
  }
  if (in_flight_.size() < 2) return std::nullopt;
  InFlight due = std::move(in_flight_.front());
  in_flight_.pop_front();
  AgreedVote agreed{due.step, decode(due.handle.wait())};
  if (last_committed_ && *last_committed_ >= agreed.step) agreed.vote.checkpoint_due = false;
  return agreed;
}

Vote StepAgreement::agree_now(const Vote& mine) {
  // Through the host-side agreement path, which every backend has (NCCL's
  // allreduce wants device buffers).
  return decode(comm_.start_allreduce(encode(mine), ReduceOp::max).wait());
}

void StepAgreement::drain() {
  for (auto& f : in_flight_) f.handle.wait();
  in_flight_.clear();
}

}  // namespace lull::detail
