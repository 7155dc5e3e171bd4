#include "snapshot_watch.h"

#include <exception>

#include "lull/base/exit_codes.h"
#include "lull/checkpoint/snapshot_store.h"

namespace lull::arbiter {

std::optional<std::uint64_t> newest_committed_step(const std::filesystem::path& ckpt_dir) noexcept {
  try {
    StoreOptions options;
    options.create = false;
    const std::vector<SnapshotEntry> committed = SnapshotStore(ckpt_dir, options).committed();
    if (committed.empty()) return std::nullopt;
    return committed.front().step;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

RunEnd lost_run_end(const std::filesystem::path& ckpt_dir) {
  const std::optional<std::uint64_t> step = newest_committed_step(ckpt_dir);
  if (step) {
    return {kExitPreempted, "lull run ended while the arbiter was away and left no exit file; resumable from snapshot step " +
                                std::to_string(*step)};
  }
  return {kExitFailure, "lull run ended while the arbiter was away and left no exit file, and there is no committed snapshot"};
}

}  // namespace lull::arbiter
