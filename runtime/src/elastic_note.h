#pragma once
// elastic_note() — what rank 0 adds to "resumed from snapshot step N".

#include <string>
#include <vector>

namespace lull::detail {

// "" when the snapshot was written by `world_size` ranks; otherwise the
// resharding ("written by 4 ranks, resharded to 2") and which rank-local
// state (`blob_names`) was left to the program, which can read every old
// rank's until the first step ends. Pure.
std::string elastic_note(int written_by, int world_size, const std::vector<std::string>& blob_names);

}  // namespace lull::detail
