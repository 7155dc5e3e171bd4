#pragma once
// NoticeWatcher — notices that this rank is being preempted.
//
// Two paths, because either may be the only one that works: a signal
// (SIGUSR1 by default; mpirun forwards it to every rank) whose handler only
// sets a flag, and the notice file named by LULL_NOTICE_FILE, which `lull
// run` writes before it signals and which carries the deadline. The file is
// also polled (at most every poll_interval) so a rank that missed the signal
// still sees the notice.
//
// A notice must never interrupt the program's own system calls: a handler
// with SA_RESTART is not enough (poll, connect with a timeout, nanosleep
// fail with EINTR after any handler; torch's TCPStore then raises
// "Interrupted system call"). So the thread that builds the watcher (and
// every thread it starts afterwards, which inherit its mask) blocks the
// notice signals: one sent to the process stays pending instead of
// interrupting anything there, and poll() takes it from the pending set.
// A thread that still accepts them (one started before) runs the handler,
// which only sets a flag (SA_RESTART).
//
// One instance per process. It installs its handler for the notice signals
// and, on destruction, unblocks what it blocked and gives back a program's
// own handler; where the old disposition was the default (terminate), its
// harmless handler stays, so a late notice cannot kill a program that is
// already exiting. Not thread-safe: poll from the thread that built it.

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "lull/base/notice_file.h"

namespace lull::detail {

struct NoticeWatcherOptions {
  std::vector<int> signals;                 // signals that mean "preempted"
  std::filesystem::path notice_file;        // empty: signals only
  double default_grace_seconds = 30;        // deadline when a signal comes without a file
  std::chrono::milliseconds poll_interval{100};
};

// Makes `signo` set the notice flag (async-signal-safe handler, SA_RESTART);
// the old disposition goes to `previous` when not null. False on failure
// (errno set).
bool install_notice_handler(int signo, struct sigaction* previous) noexcept;

// Blocks `signals` in the calling thread (and so in the threads it starts
// later); the old mask goes to `previous` when not null. False on failure.
bool block_notice_signals(const std::vector<int>& signals, sigset_t* previous) noexcept;

class NoticeWatcher {
 public:
  explicit NoticeWatcher(NoticeWatcherOptions options);
  ~NoticeWatcher();
  NoticeWatcher(const NoticeWatcher&) = delete;
  NoticeWatcher& operator=(const NoticeWatcher&) = delete;

  // The notice, once one has arrived (by signal, pending or caught, or by
  // file); stays set. When several arrive, the earliest deadline wins.
  // Cheap when nothing happened (a flag read, sigpending and a steady-clock
  // read): end_step() calls it every step.
  const std::optional<PreemptionNotice>& poll();

  // True once a signal has been caught (cheap; async-signal-safe flag read).
  static bool signal_seen() noexcept;

  // Tells `lull run` (through a ready marker beside the notice file; see
  // lull/base/notice_file.h) that this process, rank `rank` of
  // `world_size`, handles the notice signals and polls the file, so that a
  // signal can no longer kill it. Call once the rank is known. Does nothing
  // without a notice file. Never throws: a failure is logged as a warning,
  // and lull run then keeps to the file.
  void mark_ready(int rank, int world_size) noexcept;

  // Tells `lull run` (through an acknowledgement beside the notice file; see
  // lull/base/notice_file.h) that this rank took the notice at `step`.
  // Does nothing without a notice file. Never throws: a failure is logged
  // as a warning, and lull run then does not know.
  void acknowledge(int rank, int world_size, std::uint64_t step) noexcept;

 private:
  void take(const PreemptionNotice& notice);
  // A notice signal pending (blocked) for this thread or the process becomes the flag.
  void take_pending_signal() noexcept;

  NoticeWatcherOptions options_;
  std::vector<std::pair<int, struct sigaction>> previous_;
  sigset_t previous_mask_;  // the building thread's mask before the watcher blocked the notice signals
  std::optional<PreemptionNotice> notice_;
  std::chrono::steady_clock::time_point next_file_check_{};
  bool signal_taken_ = false;
};

}  // namespace lull::detail
