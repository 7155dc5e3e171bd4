#pragma once
// SnapshotCycle — the collective halves of lull's snapshots: every rank
// writes its part and rank 0 commits (checkpoint), or all ranks load the
// newest snapshot they can all verify (restore).
//
// Collective over the communicator: every rank calls the same functions in
// the same order. Errors of one rank never leave the others waiting: each
// rank reports success or failure and all learn the outcome.

#include <cstdint>
#include <optional>
#include <string>

#include "lull/base/clock.h"
#include "lull/checkpoint/snapshot_store.h"
#include "lull/collectives/communicator.h"
#include "state_registry.h"

namespace lull::detail {

struct CheckpointOutcome {
  bool committed = false;
  std::uint64_t step = 0;
  std::uint64_t bytes = 0;  // all ranks' tensor and blob bytes
  double seconds = 0;       // from the first write to the last rank learning of the commit, by the cycle's clock
  std::string error;        // why not committed (rank 0 has the commit's reason)
};

struct RestoreOutcome {
  std::uint64_t step = 0;
  int written_by = 0;  // world size of the job that wrote it
  std::uint64_t bytes = 0;
  std::optional<SnapshotReader> reader;  // still open, for reading old ranks' blobs
};

class SnapshotCycle {
 public:
  // All borrowed; `store` may only be used by rank 0 to commit and list;
  // `clock` times the checkpoints.
  SnapshotCycle(Communicator& comm, const SnapshotStore& store, const Clock& clock)
      : comm_(comm), store_(store), clock_(clock) {}

  // Writes `registry` as snapshot `step` and commits it. Never throws for a
  // failed write or commit (the outcome says so; the previous snapshot is
  // untouched); throws only when the communicator fails.
  CheckpointOutcome checkpoint(std::uint64_t step, const StateRegistry& registry,
                               const std::string& job);

  // Fills `registry` from the newest committed snapshot that every rank
  // opens (SnapshotReader::open's checks), reads and verifies and that job
  // `job` wrote, trying older ones after a failure. Anything a rank throws
  // while trying one (not only lull::Error) is that rank's failure, logged
  // by it; all ranks then agree at once to try the next, so no rank is left
  // waiting in a collective. Rank-local blobs are loaded from the same rank
  // when the world size is the one that wrote the snapshot, and not at all
  // otherwise (Runtime::restored_blob reads them then). nullopt when there
  // is no snapshot. Throws
  // Error(corrupt) when snapshots exist and none is usable: starting over
  // silently would throw the job's work away.
  std::optional<RestoreOutcome> restore(const StateRegistry& registry, const std::string& job);

 private:
  Communicator& comm_;
  const SnapshotStore& store_;
  const Clock& clock_;
};

}  // namespace lull::detail
