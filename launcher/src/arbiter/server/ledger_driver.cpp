#include "ledger_driver.h"

#include <sys/epoll.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "arbiter_recovery.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "posix/epoll_ready.h"
#include "snapshot_watch.h"

namespace lull::arbiter {

namespace {

constexpr std::size_t kCompactAboveBytes = 8 << 20;

TimePoint wall_clock_now() {
  return TimePoint(std::chrono::duration_cast<policy::Duration>(std::chrono::system_clock::now().time_since_epoch()));
}

}  // namespace

LedgerDriver::LedgerDriver(const std::filesystem::path& journal, const JournalHeader& fresh, JobLauncher& launcher,
                           EventLog& events)
    : launcher_(launcher), events_(events), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_.valid()) throw_errno("epoll_create1", "the arbiter's runs");
  JournalContents contents = ArbiterJournal::read(journal);
  if (!contents.header) {
    journal_ = ArbiterJournal::start(journal, fresh);
    ledger_.emplace(fresh);
    return;
  }
  if (contents.torn_tail) log::warn(journal.string() + ": a torn last record (from a crash) is dropped");
  ledger_.emplace(*contents.header);
  for (const JournalRecord& record : contents.records) ledger_->apply(record);
  const bool policy_changed = contents.header->policy_text != fresh.policy_text;
  const bool compact = ledger_->jobs().empty() && (policy_changed || contents.whole_bytes > kCompactAboveBytes);
  if (compact) {
    JournalHeader compacted = fresh;
    compacted.next_job = ledger_->next_job_id();
    compacted.counters = ledger_->counters();
    journal_ = ArbiterJournal::start(journal, compacted);
    ledger_.emplace(compacted);
    log::info("journal compacted" + std::string(policy_changed ? "; the new policy is in force" : ""));
    return;
  }
  journal_ = ArbiterJournal::open(journal, contents.whole_bytes);
  if (policy_changed) {
    log::warn("the policy file differs from the one the journal began with; the journal's stays in force until no "
              "job is left and the arbiter is restarted");
  }
}

void LedgerDriver::recover() {
  RecoveryPlan plan = plan_recovery(*ledger_, launcher_);
  for (ActiveRun& run : plan.adopted) watch(std::move(run));
  for (RecordKind& what : plan.records) record(std::move(what));
  carry_out(plan.effects);
}

TimePoint LedgerDriver::now() const { return std::max(ledger_->last_time(), wall_clock_now()); }

void LedgerDriver::record(RecordKind what) {
  pending_.push_back(std::move(what));
  if (recording_) return;  // the loop below, further up the stack, takes it
  recording_ = true;
  try {
    while (!pending_.empty()) {
      const JournalRecord record{now(), std::move(pending_.front())};
      pending_.pop_front();
      journal_->append(record);
      ++records_applied_;
      if (const auto* exit = std::get_if<ExitRecord>(&record.what)) exit_journaled(*exit);
      carry_out(ledger_->apply(record));
    }
  } catch (...) {
    recording_ = false;
    throw;
  }
  recording_ = false;
}

void LedgerDriver::carry_out(const std::vector<Effect>& effects) {
  for (const Effect& effect : effects) {
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, EventEffect>) {
            events_.write(e.event);
          } else if constexpr (std::is_same_v<E, LaunchEffect>) {
            launch(e);
          } else {
            const auto found = runs_.find(e.job);
            if (found == runs_.end() || found->second.run != e.run) return;  // ended meanwhile
            constexpr bool kill = std::is_same_v<E, KillEffect>;
            if (kill) {
              launcher_.kill(found->second);
            } else {
              launcher_.send_notice(found->second);
            }
            record(SignalledRecord{e.job, e.run, kill});
          }
        },
        effect);
  }
}

void LedgerDriver::launch(const LaunchEffect& effect) {
  const RunRequest request = run_request_of(*ledger_, effect.job);
  try {
    ActiveRun run = launcher_.launch(request);
    const LaunchedRecord launched{effect.job, effect.run, run.process.pid, run.process.start_ticks};
    watch(std::move(run));
    record(launched);
  } catch (const Error& e) {
    log::error("job " + std::to_string(effect.job) + ": cannot start: " + e.what());
    record(ExitRecord{effect.job, effect.run, 1, std::string("cannot start lull run: ") + e.what()});
  }
}

void LedgerDriver::watch(ActiveRun run) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = run.job;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, run.watch.get(), &event) != 0) throw_errno("epoll_ctl", "a job's pidfd");
  const JobId job = run.job;
  runs_.insert_or_assign(job, std::move(run));
}

void LedgerDriver::reap() {
  epoll_event ready[64];
  const int count = posix::epoll_ready(epoll_.get(), ready, "the arbiter's runs");
  for (int i = 0; i < count; ++i) run_ended(ready[i].data.u64);
}

void LedgerDriver::run_ended(JobId job) {
  const auto found = runs_.find(job);
  if (found == runs_.end()) return;
  ActiveRun run = std::move(found->second);
  runs_.erase(found);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, run.watch.get(), nullptr);
  poll_checkpoint(job);  // the snapshot a notice wrote counts before the exit
  const RunEnd end = launcher_.collect(run);
  log::info("job " + std::to_string(job) + " run " + std::to_string(run.run) + ": exit " + std::to_string(end.exit_code) +
            " (" + end.meaning + ")");
  record(ExitRecord{job, run.run, end.exit_code, end.meaning});
}

void LedgerDriver::exit_journaled(const ExitRecord& exit) {
  const auto found = ledger_->jobs().find(exit.job);  // not applied yet: the job is still there
  if (found == ledger_->jobs().end() || found->second.run != exit.run) return;
  launcher_.exit_journaled(run_request_of(*ledger_, exit.job));
}

void LedgerDriver::poll_checkpoint(JobId job) {
  const auto found = ledger_->jobs().find(job);
  if (found == ledger_->jobs().end()) return;
  const std::optional<std::uint64_t> step = newest_committed_step(found->second.spec.ckpt_dir);
  if (step && (!found->second.last_step || *step > *found->second.last_step)) record(CheckpointRecord{job, *step});
}

void LedgerDriver::poll_checkpoints() {
  std::vector<JobId> live;
  for (const auto& [job, run] : runs_) live.push_back(job);
  for (JobId job : live) poll_checkpoint(job);
}

}  // namespace lull::arbiter
