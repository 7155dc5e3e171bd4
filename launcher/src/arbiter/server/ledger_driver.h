#pragma once
// LedgerDriver — the arbiter's hands on its ledger (node_ledger.h): each
// record is journaled (arbiter_journal.h) before the ledger applies it, so
// nothing is acted on or answered that a crash could forget; then what the
// ledger calls for is carried out through the JobLauncher and the events
// file: launch a run, send a notice, kill, write an event. Those lead to
// more records (launched, signalled, exit), taken in order, never nested.
//
// It watches the runs it started or adopted: it keeps its own epoll set of
// their pidfds, the arbiter's loop watches fd() and calls reap() when fd()
// is readable. A run's end and the snapshots a run commits become records.
// Not thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>

#include "arbiter_journal.h"
#include "event_log.h"
#include "job_launcher.h"
#include "lull/base/unique_fd.h"
#include "node_ledger.h"
#include "request_handler.h"

namespace lull::arbiter {

class LedgerDriver final : public RequestEffects {
 public:
  // Reads the journal at `journal` and rebuilds the ledger from it; starts
  // a journal with `fresh` when there is none, and compacts it into a fresh
  // one (carrying the job ids and counters over) when no job is left and
  // the policy changed or the journal has grown past a few MB. `launcher`
  // and `events` must outlive the driver. Throws lull::Error: the journal
  // cannot be read (corrupt, I/O), written, or its policy no longer loads.
  LedgerDriver(const std::filesystem::path& journal, const JournalHeader& fresh, JobLauncher& launcher,
               EventLog& events);

  // After a restart: adopts the runs still going, records those that ended
  // while no arbiter watched, starts those never started (arbiter_recovery.h).
  void recover();

  const NodeLedger& ledger() const noexcept { return *ledger_; }
  // The wall clock, never behind the last record's time.
  TimePoint now() const;

  // Journals `what` (stamped now()), applies it and carries out its effects,
  // and those of the records they lead to. Throws the journal's Error (the
  // arbiter must then stop: it cannot act on what it could not record).
  void record(RecordKind what) override;
  void write_event(const ArbiterEvent& event) override { events_.write(event); }
  // How many records have been applied since the start: changes whenever
  // the ledger may have.
  std::uint64_t records_applied() const noexcept { return records_applied_; }

  // Readable when a watched run has ended.
  int fd() const noexcept { return epoll_.get(); }
  // Records the end of each watched run that has ended (after the last
  // snapshot it committed).
  void reap();
  // Records each running job's newest committed snapshot, when it is newer.
  void poll_checkpoints();
  // Runs being watched (started or adopted by this arbiter).
  std::size_t watched_runs() const noexcept { return runs_.size(); }

 private:
  void carry_out(const std::vector<Effect>& effects);
  void launch(const LaunchEffect& effect);
  void watch(ActiveRun run);
  void run_ended(JobId job);
  // The run's end is in the journal: the exit file it left can go.
  void exit_journaled(const ExitRecord& exit);
  void poll_checkpoint(JobId job);

  JobLauncher& launcher_;
  EventLog& events_;
  std::optional<ArbiterJournal> journal_;
  std::optional<NodeLedger> ledger_;
  UniqueFd epoll_;
  std::map<JobId, ActiveRun> runs_;
  std::deque<RecordKind> pending_;
  bool recording_ = false;
  std::uint64_t records_applied_ = 0;
};

}  // namespace lull::arbiter
