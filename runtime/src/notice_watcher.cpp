#include "notice_watcher.h"

#include <signal.h>

#include <pthread.h>
#include <time.h>

#include <cstring>
#include <string>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"

namespace lull::detail {

namespace {

// The one mutable global lull allows: written only by the signal handler.
volatile sig_atomic_t g_notice_signal = 0;

extern "C" void on_notice_signal(int signo) { g_notice_signal = signo; }

}  // namespace

bool NoticeWatcher::signal_seen() noexcept { return g_notice_signal != 0; }

sigset_t signal_set(const std::vector<int>& signals) noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : signals) sigaddset(&set, signo);
  return set;
}

bool block_notice_signals(const std::vector<int>& signals, sigset_t* previous) noexcept {
  const sigset_t set = signal_set(signals);
  return ::pthread_sigmask(SIG_BLOCK, &set, previous) == 0;
}

bool install_notice_handler(int signo, struct sigaction* previous) noexcept {
  struct sigaction action {};
  action.sa_handler = on_notice_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return ::sigaction(signo, &action, previous) == 0;
}

NoticeWatcher::NoticeWatcher(NoticeWatcherOptions options) : options_(std::move(options)) {
  for (int signo : options_.signals) {
    struct sigaction old {};
    if (!install_notice_handler(signo, &old)) throw_errno("sigaction", "signal " + std::to_string(signo));
    previous_.emplace_back(signo, old);
  }
  sigemptyset(&previous_mask_);
  if (!block_notice_signals(options_.signals, &previous_mask_)) throw_errno("pthread_sigmask", "the notice signals");
}

NoticeWatcher::~NoticeWatcher() {
  // The notice signals this watcher blocked are delivered again (to the
  // handler kept or given back below; a pending one is taken there).
  sigset_t unblock;
  sigemptyset(&unblock);
  for (int signo : options_.signals) {
    if (sigismember(&previous_mask_, signo) == 0) sigaddset(&unblock, signo);
  }
  // A late notice (a second SIGUSR1 while the program exits after a stop)
  // must not kill the process with the default action: where that was the
  // old disposition, the flag-setting handler stays. A program's own
  // handler comes back.
  for (auto& [signo, old] : previous_) {
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO) != 0) ::sigaction(signo, &old, nullptr);
  }
  ::pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
}

namespace {

// Leaves a marker beside the notice file with `leave`; a failure is a warning.
template <typename Leave>
void leave_marker_or_warn(const std::filesystem::path& notice_file, const char* what, Leave leave) noexcept {
  if (notice_file.empty()) return;
  try {
    leave();
  } catch (const std::exception& e) {
    try {
      log::warn(std::string("could not ") + what + " beside the notice file: " + e.what());
    } catch (...) {  // logging failed too: nothing more to do
    }
  }
}

}  // namespace

void NoticeWatcher::mark_ready(int rank, int world_size) noexcept {
  leave_marker_or_warn(options_.notice_file, "mark this rank ready for the notice",
                       [&] { mark_ready_for_notice(options_.notice_file, rank, world_size); });
}

void NoticeWatcher::acknowledge(int rank, int world_size, std::uint64_t step) noexcept {
  leave_marker_or_warn(options_.notice_file, "acknowledge the notice",
                       [&] { acknowledge_notice(options_.notice_file, {rank, world_size, step}); });
}

void NoticeWatcher::take(const PreemptionNotice& notice) {
  if (!notice_ || notice.deadline_unix < notice_->deadline_unix) notice_ = notice;
}

void NoticeWatcher::take_pending_signal() noexcept {
  sigset_t pending;
  if (g_notice_signal != 0 || ::sigpending(&pending) != 0) return;
  for (int signo : options_.signals) {
    if (sigismember(&pending, signo) != 1) continue;
    const sigset_t only = signal_set({signo});
    const timespec now{0, 0};
    if (::sigtimedwait(&only, nullptr, &now) == signo) g_notice_signal = signo;
    return;
  }
}

const std::optional<PreemptionNotice>& NoticeWatcher::poll() {
  take_pending_signal();
  const int signo = g_notice_signal;
  bool check_file = false;
  if (signo != 0 && !signal_taken_) {
    signal_taken_ = true;
    check_file = true;
  }
  auto now = std::chrono::steady_clock::now();
  if (!options_.notice_file.empty() && now >= next_file_check_) {
    next_file_check_ = now + options_.poll_interval;
    check_file = true;
  }
  if (check_file && !options_.notice_file.empty()) {
    try {
      if (auto from_file = read_notice_file(options_.notice_file)) take(*from_file);
    } catch (const Error& e) {
      log::warn(std::string("ignoring unreadable notice file: ") + e.what());
    }
  }
  if (signal_taken_ && !notice_) {
    // A signal without a file (plain mpirun, a scheduler's own signal):
    // assume the default grace period from the moment we saw it.
    const double now_unix = unix_time_now();
    PreemptionNotice notice;
    notice.issued_unix = now_unix;
    notice.grace_seconds = options_.default_grace_seconds;
    notice.deadline_unix = now_unix + options_.default_grace_seconds;
    notice.reason = std::string("signal ") + ::strsignal(signo);
    take(notice);
  }
  return notice_;
}

}  // namespace lull::detail
