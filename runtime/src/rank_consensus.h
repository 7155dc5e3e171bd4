#pragma once
// Small host-side collectives the runtime builds from the agreement
// allreduce, so they work on every backend (NCCL's own collectives want
// device buffers). Collective: every rank calls the same ones in order.

#include <cstdint>

#include "lull/collectives/communicator.h"

namespace lull::detail {

// `value` of rank `root`, on every rank.
std::int64_t share_from(Communicator& comm, int root, std::int64_t value);

// True on every rank when `ok` is true on every rank.
bool all_ranks(Communicator& comm, bool ok);

// The smallest and the largest `value` over the ranks.
struct Range {
  std::int64_t min;
  std::int64_t max;
};
Range value_range(Communicator& comm, std::int64_t value);

}  // namespace lull::detail
