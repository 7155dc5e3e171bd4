#include "rank_consensus.h"

#include <array>
#include <limits>

namespace lull::detail {

std::int64_t share_from(Communicator& comm, int root, std::int64_t value) {
  const std::array<std::int64_t, 1> mine{comm.rank() == root ? value : std::numeric_limits<std::int64_t>::min()};
  return comm.start_allreduce(mine, ReduceOp::max).wait()[0];
}

bool all_ranks(Communicator& comm, bool ok) {
  const std::array<std::int64_t, 1> mine{ok ? 1 : 0};
  return comm.start_allreduce(mine, ReduceOp::min).wait()[0] == 1;
}

Range value_range(Communicator& comm, std::int64_t value) {
  // max(-v) = -min(v); -INT64_MIN overflows, so the lowest value is clamped.
  const std::int64_t clamped = value == std::numeric_limits<std::int64_t>::min() ? value + 1 : value;
  const std::array<std::int64_t, 2> mine{clamped, -clamped};
  const auto reduced = comm.start_allreduce(mine, ReduceOp::max).wait();
  return {-reduced[1], reduced[0]};
}

}  // namespace lull::detail
