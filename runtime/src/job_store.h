#pragma once
// open_job_store() — every rank's handle on the job's snapshot directory.

#include <cstdint>
#include <optional>

#include "lull/checkpoint/snapshot_store.h"
#include "lull/collectives/communicator.h"
#include "lull/runtime.h"

namespace lull::detail {

// Collective. Rank 0 creates the directory and takes its writer lock for
// the life of `store` (one live job per snapshot directory); the others open
// it once it exists. Rank 0 commits every snapshot, so its lock is the job's
// on every node; a refusal (rank 0's Error, with its code) reaches every
// rank before anything is written. Returns the newest step committed there
// now, the same on every rank: under rank 0's lock nobody else commits while
// this job lives, so it stays until this job commits.
std::optional<std::uint64_t> open_job_store(Communicator& comm, const RuntimeOptions& options,
                                            std::optional<SnapshotStore>& store);

}  // namespace lull::detail
