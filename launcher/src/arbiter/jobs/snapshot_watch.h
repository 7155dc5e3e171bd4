#pragma once
// What the arbiter reads of a job's snapshot directory: the newest committed
// step (for "checkpoint" events, about once a second per running job), and
// how to account for a run that vanished without saying how it ended.

#include <cstdint>
#include <filesystem>
#include <optional>

#include "job_launcher.h"

namespace lull::arbiter {

// The newest step-* entry of `ckpt_dir` (SnapshotStore::committed(), not
// verified: a commit is atomic), nullopt when there is none or the directory
// cannot be read. Never throws.
std::optional<std::uint64_t> newest_committed_step(const std::filesystem::path& ckpt_dir) noexcept;

// A run whose `lull run` is gone and left no exit file (it was killed while
// the arbiter was away): 75, failed-but-resumable, when its snapshot directory
// holds a committed snapshot, else 1 (failed). Never throws.
RunEnd lost_run_end(const std::filesystem::path& ckpt_dir);

}  // namespace lull::arbiter
