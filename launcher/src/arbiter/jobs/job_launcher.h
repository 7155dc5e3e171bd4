#pragma once
// JobLauncher — the side of the arbiter that starts, signals and watches
// jobs, kept apart from the decisions (node_ledger.h) so another backend
// (Slurm) can be driven by the same ledger. local_job_launcher.h is the one
// for a single node.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "job_spec.h"
#include "lull/policy/duration.h"
#include "node_ledger.h"
#include "lull/base/unique_fd.h"

namespace lull::arbiter {

// One run of a job, as the ledger asks for it.
struct RunRequest {
  JobId job = 0;
  int run = 0;
  const JobSpec* spec = nullptr;
  std::vector<SlotId> slots;                 // ranks = slots.size()
  policy::Duration grace{0};                 // the class's
  policy::Duration checkpoint_interval{0};   // the class's (0: on notice only)
  bool checkpoint_interval_auto = false;     // the class's "auto": the job chooses (Young/Daly)
  // The class's observed mean time between notices (ClassCounters), told to
  // the job as LULL_MEAN_SECONDS_BETWEEN_NOTICES; nullopt before any notice.
  std::optional<double> mean_seconds_between_notices;
};

// A run that is going on.
struct ActiveRun {
  JobId job = 0;
  int run = 0;
  ProcessRef process;
  bool is_child = false;               // started by this arbiter process (else adopted)
  UniqueFd watch;                      // readable once the run has ended
  std::filesystem::path exit_file;     // where `lull run` writes how it ended
  std::filesystem::path ckpt_dir;
  uid_t uid = 0;                       // the job's owner (who writes the exit file)
};

// How a run ended.
struct RunEnd {
  int exit_code = 0;
  std::string meaning;
};

class JobLauncher {
 public:
  virtual ~JobLauncher() = default;

  // Starts the run. Throws lull::Error when it cannot (the caller records
  // the run as ended).
  virtual ActiveRun launch(const RunRequest& request) = 0;

  // After an arbiter restart: the run's process if it is still going
  // (`recorded` is what the journal knows of it; the process is also looked
  // for without it), else nullopt.
  virtual std::optional<ActiveRun> adopt(const RunRequest& request, const std::optional<ProcessRef>& recorded) = 0;

  // How a run that is not going (any more) ended, when it left word (its
  // exit file); nullopt when it left none. The word stays until
  // exit_journaled().
  virtual std::optional<RunEnd> ended_while_away(const RunRequest& request) = 0;

  // The preemption notice (the job checkpoints and exits 75 within its grace).
  virtual void send_notice(const ActiveRun& run) = 0;
  // Ends the run now (SIGKILL to all of its processes).
  virtual void kill(const ActiveRun& run) = 0;

  // Once run.watch is readable: how the run ended. Never throws. The word
  // it read stays until exit_journaled().
  virtual RunEnd collect(ActiveRun& run) = 0;

  // The end of `request`'s run is in the journal (durably): the word the run
  // left can go. Before that, an arbiter killed between reading it and
  // journaling the end must find it again after its restart (else a
  // finished run would be taken for a lost one). Never throws.
  virtual void exit_journaled(const RunRequest& request) noexcept = 0;
};

}  // namespace lull::arbiter

namespace lull::arbiter {

// The request for `job`'s current run as the ledger knows it (run number,
// slots; grace and checkpoint interval from its class). Precondition: the
// ledger holds `job`.
RunRequest run_request_of(const NodeLedger& ledger, JobId job);

}  // namespace lull::arbiter
