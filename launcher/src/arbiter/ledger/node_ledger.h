#pragma once
// NodeLedger — the arbiter's state and decisions, without any I/O.
//
// It owns the policy's DecisionCore and what the arbiter knows beyond it
// (each job's spec, runs, process, snapshots; ended jobs; counters). Its only
// input is journal records (journal_record.h), its only output the effects
// they call for: launch a run, send a notice, kill, write an event. The
// server appends a record to the journal, applies it here and carries out the
// effects (which lead to more records: launched, signalled, exit...). After a
// restart it applies the journal's records again and drops the effects: same
// records, same state, since the core is deterministic; what is left to do
// is found by looking at the jobs (arbiter_recovery.h).
//
// Records must come in non-decreasing time. Not thread-safe.

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "arbiter_counters.h"
#include "arbiter_event.h"
#include "journal_record.h"
#include "lull/policy/decision_core.h"

namespace lull::arbiter {

using policy::SlotId;

// The process of a run, as the journal recorded it.
struct ProcessRef {
  int pid = 0;
  std::uint64_t start_ticks = 0;  // /proc/<pid>/stat start time: tells a reused pid apart
};

struct LedgerJob {
  JobId id = 0;
  JobSpec spec;
  int run = 0;                          // the current or last run, from 1; 0 before the first
  std::vector<SlotId> slots;            // of the current or last run
  std::optional<ProcessRef> process;    // of the current run, once launched
  bool notice_sent = false;             // of the current run
  bool kill_sent = false;
  bool cancel_requested = false;
  TimePoint run_started;
  std::optional<TimePoint> noticed_at;  // of the current run
  std::optional<TimePoint> deadline;    // grace deadline not yet reported to the core
  std::optional<std::uint64_t> last_step;     // newest committed snapshot seen
  std::optional<TimePoint> last_step_at;      // when it was seen, if during the current run
  std::optional<int> last_exit_code;
  std::string last_exit_meaning;        // what the last exit meant, in words
};

// A job the core no longer knows: finished, failed, cancelled or rejected.
struct EndedJob {
  JobId id = 0;
  std::string tenant;
  std::string job_class;
  uid_t uid = 0;
  std::string outcome;  // "finished", "failed", "cancelled", "rejected"
  std::optional<int> exit_code;
  std::optional<std::uint64_t> last_step;
  std::string reason;
  int runs = 0;
  TimePoint ended;
};

struct LaunchEffect {
  JobId job = 0;
  int run = 0;
  std::vector<SlotId> slots;
};
struct NoticeEffect {
  JobId job = 0;
  int run = 0;
};
struct KillEffect {
  JobId job = 0;
  int run = 0;
};
struct EventEffect {
  ArbiterEvent event;
};
using Effect = std::variant<LaunchEffect, NoticeEffect, KillEffect, EventEffect>;

class NodeLedger {
 public:
  // `header` gives the policy (its text, parsed here; throws lull::Error
  // when it no longer parses), the slots, the first free job id and the
  // counters carried over from earlier journals.
  explicit NodeLedger(const JournalHeader& header);

  // Applies one record and returns what it calls for, in order.
  std::vector<Effect> apply(const JournalRecord& record);

  const policy::Policy& policy() const noexcept { return core_.policy(); }
  const policy::DecisionCore& core() const noexcept { return core_; }
  const std::map<JobId, LedgerJob>& jobs() const noexcept { return jobs_; }
  const std::deque<EndedJob>& ended() const noexcept { return ended_; }
  const ArbiterCounters& counters() const noexcept { return counters_; }
  JobId next_job_id() const noexcept { return next_job_; }
  TimePoint last_time() const noexcept { return last_time_; }
  int slots() const noexcept { return core_.summary().slots; }

  // The core's view of a job the ledger holds (its state, wait reason).
  std::optional<policy::JobStatus> status(JobId job) const { return core_.job(job); }
  // True for jobs whose current run holds slots (running, noticed, killed).
  bool has_live_run(JobId job) const;
  // True when some job has a live run.
  bool any_live_run() const;
  // An ended job by id (kept for the last kEndedKept jobs).
  const EndedJob* ended_job(JobId job) const;

  // When the server must next act on time: the core's next tick or a grace
  // deadline, whichever is first.
  std::optional<TimePoint> next_wakeup() const;
  // The records time alone calls for at `now`: a GraceRecord per passed
  // deadline, a TickRecord when the core's tick is due.
  std::vector<RecordKind> due_at(TimePoint now) const;

  // Slots held by class (running, noticed or killed jobs).
  std::map<std::string, int> busy_slots_by_class() const;

  static constexpr std::size_t kEndedKept = 1000;

 private:
  void decide(TimePoint now, policy::EventKind what, std::vector<Effect>& out);
  void act(const policy::Action& action, TimePoint now, std::vector<Effect>& out);
  void end_if_forgotten(JobId job, TimePoint now, std::vector<Effect>& out);
  void end_job(LedgerJob& job, const std::string& outcome, const std::string& reason, TimePoint now);
  ArbiterEvent event_of(const LedgerJob& job, std::string name, TimePoint now, std::string reason = {}) const;

  void on(const SubmitRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const ExitRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const GraceRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const TickRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const SlotsRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const CancelRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const LaunchedRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const SignalledRecord& r, TimePoint now, std::vector<Effect>& out);
  void on(const CheckpointRecord& r, TimePoint now, std::vector<Effect>& out);

  policy::DecisionCore core_;
  std::map<JobId, LedgerJob> jobs_;
  std::deque<EndedJob> ended_;
  ArbiterCounters counters_;
  JobId next_job_ = 1;
  TimePoint last_time_{};
  std::optional<TimePoint> next_tick_;
  std::optional<TimePoint> last_tick_;
};

}  // namespace lull::arbiter
