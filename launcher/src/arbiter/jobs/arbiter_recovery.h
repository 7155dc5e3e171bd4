#pragma once
// After an arbiter restart: the ledger, rebuilt from the journal, says which
// runs should be going; this finds out which are, and what is still to do.
// For each job with a live run (running, noticed or killed):
//   - its `lull run` is still there (the pid and start time the journal
//     recorded, or a process whose command line holds the run's exit file):
//     adopted, watched again; a notice or kill the ledger asked for but the
//     journal does not show as sent is sent again;
//   - it is gone and left an exit file: its exit, as it was;
//   - it is gone without one, after the journal recorded its launch: lost —
//     exit 75 (resumable) when its snapshot directory holds a committed
//     snapshot, else 1 (snapshot_watch.h);
//   - it was never launched (the arbiter died between deciding and
//     starting it): launched now.
// So every submitted job ends up running, queued, or ended with a reason.

#include <vector>

#include "job_launcher.h"
#include "node_ledger.h"

namespace lull::arbiter {

struct RecoveryPlan {
  std::vector<ActiveRun> adopted;  // going; watch them (their LaunchedRecords are in `records`)
  std::vector<RecordKind> records; // to record, in order: launched (adopted runs), exits (runs that ended)
  std::vector<Effect> effects;     // to carry out after the adopted runs are watched: launches, notices, kills
};

RecoveryPlan plan_recovery(const NodeLedger& ledger, JobLauncher& launcher);

}  // namespace lull::arbiter
