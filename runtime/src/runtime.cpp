// lull::Runtime: the training loop's side of preemption. It ties together
// the notice watcher, the per-step agreement, the checkpoint schedule and
// deadline planner, and the collective snapshot cycle.
#include "lull/runtime.h"

#include <signal.h>

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checkpoint_schedule.h"
#include "deadline_planner.h"
#include "device_staging.h"
#include "elastic_note.h"
#include "job_store.h"
#include "lull/base/clock.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/names.h"
#include "lull/collectives/communicator.h"
#include "notice_watcher.h"
#include "rank_consensus.h"
#include "snapshot_cycle.h"
#include "state_registry.h"
#include "step_agreement.h"

namespace lull {

namespace {

std::unique_ptr<Communicator> mpi_communicator(MPI_Comm comm, const RuntimeOptions& options) {
  CommunicatorOptions c;
  c.timeout_seconds = options.collective_timeout_seconds;
  c.label = "lull " + options.job;
  return make_communicator("mpi", comm, std::move(c));
}

// Until a checkpoint has been timed, guess a conservative 200 MB/s per rank.
constexpr double kFirstGuessBytesPerSecond = 200e6;

}  // namespace

class Runtime::Impl {
 public:
  Impl(RuntimeOptions options, std::unique_ptr<Communicator> owned, Communicator& comm)
      : options_(std::move(options)),
        owned_comm_(std::move(owned)),
        comm_(comm),
        clock_(real_clock()),
        watcher_(watcher_options(options_)),
        staging_(detail::DeviceStaging::create()),
        registry_(*staging_),
        agreement_(comm_),
        schedule_(options_.every_steps,
                  {options_.every_seconds, options_.every_seconds_auto, options_.mean_seconds_between_notices}, clock_),
        planner_(clock_) {
    validate_name("job name", options_.job);
    log::set_identity(options_.job, comm_.rank());
    if (options_.ckpt_dir.empty()) {
      throw Error(ErrorCode::invalid_argument,
                  "no snapshot directory: set LULL_CKPT_DIR (or give the directory when creating the runtime)");
    }
    newest_at_start_ = detail::open_job_store(comm_, options_, store_);
    // From here a notice signal only sets the watcher's flag: lull run may send it.
    watcher_.mark_ready(comm_.rank(), comm_.size());
  }

  // The registry, to add to: refused once the state is in use (restored or
  // saved), because a later addition would be missing from what was
  // restored, or from some snapshots and not others.
  detail::StateRegistry& registry_to_protect(const std::string& name) {
    if (restored_) {
      throw Error(ErrorCode::invalid_argument, "\"" + name + "\" is protected after the restore",
                  {}, {}, "protect all state before restoring, so that the restore fills it");
    }
    if (saving_started_) {
      throw Error(ErrorCode::invalid_argument, "\"" + name + "\" is protected after the first step ended",
                  {}, {}, "protect all state before the first step, so that every snapshot holds it");
    }
    return registry_;
  }
  Communicator& comm() { return comm_; }
  int exit_code() const { return exit_code_; }
  const std::string& exit_reason() const { return exit_reason_; }
  std::optional<std::uint64_t> last_committed() const { return last_committed_; }

  std::vector<std::byte> restored_blob(std::string_view name, int old_rank) {
    if (!restored_reader_) {
      throw Error(ErrorCode::invalid_argument,
                  "blob \"" + std::string(name) + "\" of old rank " + std::to_string(old_rank) + " is asked for " +
                      (saving_started_ ? "after the first step ended (the restored snapshot is released then)"
                                       : "but no snapshot was restored"),
                  {}, {}, "read the restored snapshot's blobs right after restoring");
    }
    if (old_rank < 0 || old_rank >= restored_world_size_) {
      throw Error(ErrorCode::invalid_argument, "old rank " + std::to_string(old_rank) + " of blob \"" +
                                                   std::string(name) + "\": the snapshot was written by " +
                                                   std::to_string(restored_world_size_) + " ranks (0 to " +
                                                   std::to_string(restored_world_size_ - 1) + ")");
    }
    return restored_reader_->read_blob(old_rank, name);
  }

  int restored_world_size() const { return restored_world_size_; }

  std::uint64_t restore() {
    if (restored_ || saving_started_) {
      throw Error(ErrorCode::invalid_argument,
                  restored_ ? "the snapshot is restored a second time" : "the restore comes after the first step ended",
                  {}, {}, "restore once, after protecting all state and before the first step");
    }
    check_same_state_everywhere();
    detail::SnapshotCycle cycle(comm_, *store_, clock_);
    auto restored = cycle.restore(registry_, options_.job);
    std::uint64_t step = 0;
    if (restored) {
      step = restored->step;
      last_committed_ = step;
      restored_world_size_ = restored->written_by;
      restored_reader_ = std::move(restored->reader);
      agreement_.committed(step);
      if (comm_.rank() == 0) {
        log::info("resumed from snapshot step " + std::to_string(step) +
                  detail::elastic_note(restored_world_size_, comm_.size(), registry_.blob_names()));
      }
    } else if (comm_.rank() == 0) {
      log::info("no snapshot in " + options_.ckpt_dir.string() + ": starting at step 0");
    }
    restored_ = true;
    schedule_.committed(step);
    // A notice that came before or during the restore is acted on at the
    // next end_step() on every rank.
    take_agreed(agreement_.agree_now(local_vote(false)), step);
    return step;
  }

  StepDecision end_step(std::uint64_t step) {
    if (stopped_) return StepDecision::stop;
    require_restored_before_saving("ended a step");

    // Step-based checkpoints are due on every rank alike; rank clocks
    // differ, so the time-based ones go through the vote (which drops a vote
    // cast before the latest commit: that commit reset the timer).
    auto agreed = agreement_.vote(step, local_vote(schedule_.due_by_time()));
    if (agreed) take_agreed(agreed->vote, step);
    const bool due_by_time = agreed && agreed->vote.checkpoint_due;
    const bool periodic = schedule_.due_by_steps(step) || due_by_time;
    if (agreed_notice_) {
      preempt(step);
    } else if (periodic && last_committed_ != step) {
      const bool committed = run_checkpoint(step, "periodic");
      // A notice that came while writing: stop on the snapshot just
      // committed, this very step; or, when it failed, on the previous one.
      take_agreed(agreement_.agree_now(local_vote(false)), step);
      if (agreed_notice_ && committed) stop_on_committed(step, "a preemption notice came during the checkpoint");
      if (agreed_notice_ && !committed) stop_after_failed_snapshot(step, "preempted");
    }
    return stopped_ ? StepDecision::stop : StepDecision::proceed;
  }

  void checkpoint(std::uint64_t step) {
    require_restored_before_saving("asked for a checkpoint");
    if (!run_checkpoint(step, "requested")) {
      throw Error(ErrorCode::io, "the checkpoint of step " + std::to_string(step) + " was not committed: " +
                                     last_failure_ + still_latest());
    }
  }

  int finish(std::uint64_t step) {
    agreement_.drain();
    if (stopped_) return exit_code_;
    require_restored_before_saving("finished");
    // The final state is committed too, so that running the same command
    // again finds the job done instead of redoing work. Without it the work
    // is done but not durable: that is no success (see kExitSnapshotFailed).
    if (last_committed_ != step && !run_checkpoint(step, "final")) {
      stop(kExitSnapshotFailed,
           "the job ran its " + std::to_string(step) + " steps, but its final snapshot was not committed: " +
               last_failure_ + rerun_advice(step));
      if (comm_.rank() == 0) log::error(exit_reason_);
      return exit_code_;
    }
    stop(kExitFinished, "finished at step " + std::to_string(step));
    if (comm_.rank() == 0) log::info(exit_reason_);
    return exit_code_;
  }

 private:
  static detail::NoticeWatcherOptions watcher_options(const RuntimeOptions& o) {
    detail::NoticeWatcherOptions w;
    w.signals = o.notice_signals.empty() ? std::vector<int>{SIGUSR1} : o.notice_signals;
    w.notice_file = o.notice_file;
    w.default_grace_seconds = o.default_grace_seconds;
    return w;
  }

  // Every rank alike (the snapshot found at the start was shared): a program
  // that saves without having restored while the directory holds committed
  // work would bury it. Its first snapshot, of a lower step, would become the
  // latest, and retention could then delete the work. Refused on every rank
  // before anything is written.
  void require_restored_before_saving(const char* what) {
    saving_started_ = true;
    restored_reader_.reset();  // its files may go with retention from now on
    if (restored_ || !newest_at_start_) return;
    throw Error(ErrorCode::invalid_argument,
                "the snapshot directory (LULL_CKPT_DIR) " + options_.ckpt_dir.string() + " holds snapshot step " +
                    std::to_string(*newest_at_start_) + ", and this program " + what +
                    " without restoring it first: its snapshots would bury that work",
                {}, {},
                "restore before the first step (the job then continues from step " +
                    std::to_string(*newest_at_start_) + "), or give another snapshot directory to start over");
  }

  void check_same_state_everywhere() {
    const auto fingerprint = static_cast<std::int64_t>(registry_.fingerprint() >> 1);
    const auto range = detail::value_range(comm_, fingerprint);
    if (range.min != range.max) {
      throw Error(ErrorCode::invalid_argument,
                  "the ranks protected different state (names, dtypes or global shapes differ between ranks)", {}, {},
                  "protect the same names, with the same types and shapes, in the same order, on every rank");
    }
  }

  detail::Vote local_vote(bool checkpoint_due) {
    detail::Vote v;
    v.checkpoint_due = checkpoint_due;
    if (const auto& notice = watcher_.poll()) {
      v.notice = true;
      v.deadline_unix = notice->deadline_unix;
      if (!notice_logged_) {
        notice_logged_ = true;
        log::info("preemption notice (" + notice->reason + "), deadline in " +
                  fmt::format("{:.1f}", notice->deadline_unix - clock_.unix_seconds()) + " s");
      }
    }
    return v;
  }

  // Every rank alike takes the agreed notice at `step` (the step it has
  // completed; the notice is acted on now, or at the next end_step()).
  void take_agreed(const detail::Vote& v, std::uint64_t step) {
    if (v.notice && !agreed_notice_) {
      agreed_notice_ = true;
      deadline_unix_ = v.deadline_unix;
      watcher_.acknowledge(comm_.rank(), comm_.size(), step);
    }
  }

  // Every rank: the agreed notice is acted on at this step.
  void preempt(std::uint64_t step) {
    if (last_committed_ == step) {
      stop_on_committed(step, "preempted");
      return;
    }
    // The same answer on every rank: the tightest slack decides.
    const double first_guess = static_cast<double>(registry_.bytes()) / kFirstGuessBytesPerSecond + 0.05;
    const detail::CheckpointFit fit = planner_.fit_before(deadline_unix_, first_guess);
    const auto slack_ms = static_cast<std::int64_t>(fit.slack_seconds() * 1000.0);
    const bool fits = detail::value_range(comm_, slack_ms).min >= 0;
    if (!fits && last_committed_) {
      stop(kExitPreempted, fmt::format("preempted at step {}: a snapshot needs about {:.2f} s and {:.2f} s are left "
                                       "before the deadline; exiting on snapshot step {}",
                                       step, fit.needed_seconds, fit.left_seconds, *last_committed_));
      if (comm_.rank() == 0) log::warn(exit_reason_);
      return;
    }
    // Without any snapshot there is nothing to lose by trying.
    if (run_checkpoint(step, "preemption")) {
      stop_on_committed(step, "preempted");
    } else {
      stop_after_failed_snapshot(step, "preempted");
    }
  }

  void stop_on_committed(std::uint64_t step, const std::string& why) {
    stop(kExitPreempted, why + ": stopping at step " + std::to_string(step) + " on a committed snapshot");
    if (comm_.rank() == 0) log::info(exit_reason_);
  }

  // Every rank (the checkpoint's outcome is agreed): the snapshot of `step`
  // failed and the job must stop. Exit 75 on the previous snapshot when
  // there is one; 74 when there is nothing to resume from.
  void stop_after_failed_snapshot(std::uint64_t step, const std::string& why) {
    if (last_committed_) {
      stop(kExitPreempted, why + " at step " + std::to_string(step) + ", whose snapshot failed (" + last_failure_ +
                               "); exiting on snapshot step " + std::to_string(*last_committed_) +
                               ": resuming redoes " + std::to_string(step - *last_committed_) + " steps");
      if (comm_.rank() == 0) log::warn(exit_reason_);
    } else {
      stop(kExitSnapshotFailed, why + " at step " + std::to_string(step) + ", whose snapshot failed (" +
                                    last_failure_ + "), and there is no earlier snapshot: the job cannot be resumed");
      if (comm_.rank() == 0) log::error(exit_reason_);
    }
  }

  void stop(int code, std::string reason) {
    agreement_.drain();
    stopped_ = true;
    exit_code_ = code;
    exit_reason_ = std::move(reason);
    log::debug("exit code " + std::to_string(code) + ": " + exit_reason_);
  }

  std::string still_latest() const {
    return last_committed_ ? "; snapshot step " + std::to_string(*last_committed_) + " is still the latest" : "";
  }

  // What running the same command again does after `step` was not saved.
  std::string rerun_advice(std::uint64_t step) const {
    const std::string fix = " (free space in " + options_.ckpt_dir.string() + " first if it is full)";
    if (!last_committed_) return "; there is no snapshot: running the same command again starts over" + fix;
    return "; snapshot step " + std::to_string(*last_committed_) +
           " is intact: running the same command again resumes from it and redoes " +
           std::to_string(step - *last_committed_) + " steps" + fix;
  }

  bool run_checkpoint(std::uint64_t step, const char* kind) {
    detail::SnapshotCycle cycle(comm_, *store_, clock_);
    auto outcome = cycle.checkpoint(step, registry_, options_.job);
    if (!outcome.committed) {
      last_failure_ = outcome.error;
      if (comm_.rank() == 0) {
        // A periodic checkpoint that fails costs nothing yet: training goes
        // on from memory and the next one tries again.
        const bool periodic = std::string_view(kind) == "periodic";
        log::error(std::string(kind) + " checkpoint of step " + std::to_string(step) + " failed: " + outcome.error +
                   still_latest() + (periodic ? "; training goes on and the next checkpoint tries again" : ""));
      }
      return false;
    }
    planner_.record_checkpoint(outcome.seconds);
    const auto interval_note = schedule_.committed(step, outcome.seconds);
    agreement_.committed(step);
    last_committed_ = step;
    if (comm_.rank() == 0) {
      const double gbps = outcome.seconds > 0 ? static_cast<double>(outcome.bytes) / outcome.seconds / 1e9 : 0;
      log::info(fmt::format("{} checkpoint step {}: {} bytes in {:.3f} s ({:.2f} GB/s)", kind, step, outcome.bytes,
                            outcome.seconds, gbps));
      if (interval_note && std::string_view(kind) == "periodic") log::info(*interval_note);
    }
    return true;
  }

  RuntimeOptions options_;
  std::unique_ptr<Communicator> owned_comm_;
  Communicator& comm_;
  const Clock& clock_;  // every time the runtime decides by
  detail::NoticeWatcher watcher_;
  std::unique_ptr<detail::DeviceStaging> staging_;
  detail::StateRegistry registry_;
  detail::StepAgreement agreement_;
  detail::CheckpointSchedule schedule_;
  detail::DeadlinePlanner planner_;
  std::optional<SnapshotStore> store_;  // rank 0's holds the directory's writer lock

  int restored_world_size_ = 0;                     // ranks that wrote the snapshot restored
  std::optional<SnapshotReader> restored_reader_;  // open from restore() to the first save
  std::optional<std::uint64_t> newest_at_start_;  // the newest snapshot committed before this runtime started
  bool restored_ = false;                         // restore() ran
  bool saving_started_ = false;                   // end_step(), checkpoint() or finish() ran
  std::optional<std::uint64_t> last_committed_;
  bool agreed_notice_ = false;
  bool notice_logged_ = false;
  double deadline_unix_ = 0;
  bool stopped_ = false;
  int exit_code_ = kExitFinished;
  std::string exit_reason_;
  std::string last_failure_;  // why the last checkpoint was not committed
};

Runtime::Runtime(RuntimeOptions options, MPI_Comm comm) {
  auto owned = mpi_communicator(comm, options);
  Communicator& ref = *owned;
  impl_ = std::make_unique<Impl>(std::move(options), std::move(owned), ref);
}

Runtime::Runtime(RuntimeOptions options, Communicator& comm)
    : impl_(std::make_unique<Impl>(std::move(options), nullptr, comm)) {}

Runtime::~Runtime() = default;

void Runtime::protect(std::string name, DType dtype, Shape global_shape, Shape offset, Shape extent, void* data,
                      Sharing sharing) {
  detail::ProtectedTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.global_shape = std::move(global_shape);
  t.offset = std::move(offset);
  t.extent = std::move(extent);
  t.data = data;
  t.replicated = sharing == Sharing::replicated;
  auto& registry = impl_->registry_to_protect(t.name);
  registry.add_tensor(std::move(t));
}

void Runtime::protect_replicated(std::string name, DType dtype, Shape shape, void* data) {
  Shape zeros(shape.size(), 0);
  protect(std::move(name), dtype, shape, std::move(zeros), shape, data, Sharing::replicated);
}

void Runtime::protect_bytes(std::string name, void* data, std::size_t size) {
  auto* bytes = static_cast<std::byte*>(data);
  const std::string label = name;
  protect_blob(
      std::move(name), [bytes, size] { return std::vector<std::byte>(bytes, bytes + size); },
      [bytes, size, label](std::span<const std::byte> stored) {
        if (stored.size() != size) {
          throw Error(ErrorCode::invalid_argument, "blob \"" + label + "\" holds " + std::to_string(stored.size()) +
                                                       " bytes in the snapshot, the program protects " +
                                                       std::to_string(size));
        }
        std::copy(stored.begin(), stored.end(), bytes);
      });
}

void Runtime::protect_blob(std::string name, std::function<std::vector<std::byte>()> save,
                           std::function<void(std::span<const std::byte>)> load) {
  auto& registry = impl_->registry_to_protect(name);
  registry.add_blob({std::move(name), std::move(save), std::move(load)});
}

std::uint64_t Runtime::restore() { return impl_->restore(); }
StepDecision Runtime::end_step(std::uint64_t step) { return impl_->end_step(step); }
void Runtime::checkpoint(std::uint64_t step) { impl_->checkpoint(step); }
int Runtime::finish(std::uint64_t step) { return impl_->finish(step); }
int Runtime::exit_code() const noexcept { return impl_->exit_code(); }
std::string Runtime::exit_reason() const { return impl_->exit_reason(); }
int Runtime::rank() const noexcept { return impl_->comm().rank(); }
int Runtime::world_size() const noexcept { return impl_->comm().size(); }
Communicator& Runtime::communicator() noexcept { return impl_->comm(); }
std::optional<std::uint64_t> Runtime::last_committed_step() const noexcept { return impl_->last_committed(); }

void Runtime::protect_cursor(std::string name, SampleCursor& cursor) {
  static_assert(sizeof cursor.state() == SampleCursor::kStateWords * sizeof(std::int64_t));
  protect_replicated(std::move(name), DType::i64, {SampleCursor::kStateWords}, cursor.state().data());
}

int Runtime::restored_world_size() const noexcept { return impl_->restored_world_size(); }

std::vector<std::byte> Runtime::restored_blob(std::string_view name, int old_rank) {
  return impl_->restored_blob(name, old_rank);
}

}  // namespace lull
