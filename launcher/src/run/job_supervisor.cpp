#include "run/job_supervisor.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <optional>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/base/notice_file.h"
#include "posix/process_tree.h"
#include "posix/signal_name.h"
#include "run/notice_signal.h"
#include "run/run_environment.h"

namespace lull::run {

namespace {

using Clock = std::chrono::steady_clock;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// "14:03:27 UTC"
std::string wall_clock_text(double unix_seconds) {
  const auto whole = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  ::gmtime_r(&whole, &parts);
  return fmt::format("{:%H:%M:%S} UTC", parts);
}

// "2.5 s"
std::string seconds_text(Clock::duration d) {
  return fmt::format("{:.1f} s", std::chrono::duration<double>(d).count());
}

bool is_preemption_request(int signal) { return signal == SIGTERM || signal == SIGINT || signal == SIGHUP; }

// The supervision of one started COMMAND: the state of the poll loop.
class Supervision {
 public:
  Supervision(const SupervisorSettings& settings, posix::SignalInbox& inbox, pid_t child)
      : settings_(settings), inbox_(inbox), child_(child) {}

  // Until COMMAND has been reaped.
  void supervise() {
    while (!outcome_.wait_status_known) {
      wait_for_signals(poll_timeout());
      for (const posix::ReceivedSignal& s : inbox_.take()) handle(s);
      fire_due_timers();
    }
  }

  // Until no descendant of lull run is left. Processes that outlive
  // COMMAND get the same treatment as an escalation (SIGTERM, SIGKILL after
  // kill_after); ones already signalled by an escalation just finish it.
  void clean_up_leftovers() {
    reap();
    std::vector<posix::ProcessInfo> left = posix::live_descendants(::getpid());
    if (left.empty()) {
      reap_all(std::chrono::seconds(2));  // only dying ones: collect their zombies
      return;
    }
    if (!term_sent_) {
      log::warn(std::to_string(left.size()) + " process(es) of the job still running after " +
                settings_.launch.command.front() + " ended: SIGTERM, SIGKILL in " +
                format_seconds(settings_.kill_after_seconds) + " s");
      posix::signal_each(left, SIGTERM);
      term_sent_ = true;
      kill_at_ = Clock::now() + seconds(settings_.kill_after_seconds);
    }
    while (!kill_sent_ && Clock::now() < *kill_at_) {
      wait_for_signals(std::min(poll_timeout_until(*kill_at_), 50));
      bool hurry = false;
      for (const posix::ReceivedSignal& s : inbox_.take()) hurry = hurry || is_preemption_request(s.number);
      reap();
      left = posix::live_descendants(::getpid());
      if (left.empty()) {
        reap_all(std::chrono::seconds(2));
        return;
      }
      if (hurry) break;
    }
    if (!kill_sent_) {
      log::warn(std::to_string(left.size()) + " process(es) of the job did not stop after SIGTERM: SIGKILL");
      kill_sent_ = true;
    }
    kill_everything();
  }

  // Also for failures of lull run itself: nothing of the job may survive them.
  void kill_everything() noexcept {
    try {
      // Only while COMMAND is unreaped does its pid surely still name its
      // group; afterwards every member left is a descendant (subreaper).
      if (!outcome_.wait_status_known) ::kill(-child_, SIGKILL);
      for (int round = 0; round < 1000; ++round) {  // bounded: ~10 s
        reap();
        if (no_children_) break;
        posix::signal_each(posix::live_descendants(::getpid()), SIGKILL);
        ::usleep(10000);
      }
    } catch (...) {  // /proc unreadable: the process group kill above is all we can do
    }
  }

  SupervisorOutcome outcome() const {
    SupervisorOutcome out;
    out.wait_status = outcome_.wait_status;
    out.notice_sent = outcome_.notice_sent;
    out.escalated = outcome_.escalated;
    out.notice_signalled = outcome_.notice_signalled;
    out.notice_signal = settings_.notice_signal;
    if (outcome_.notice_sent) out.notice_taken = read_notice_acknowledgements(settings_.notice_file);
    return out;
  }

 private:
  struct State {
    bool wait_status_known = false;
    int wait_status = 0;
    bool notice_sent = false;
    bool escalated = false;
    bool notice_signalled = false;
  };

  static int poll_timeout_until(Clock::time_point when) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
  }

  int poll_timeout() const {
    if (outcome_.wait_status_known) return 0;
    std::optional<Clock::time_point> next;
    for (const auto& timer : {signal_at_, term_sent_ ? std::nullopt : term_at_, kill_sent_ ? std::nullopt : kill_at_}) {
      if (timer && (!next || *timer < *next)) next = timer;
    }
    return next ? poll_timeout_until(*next) : -1;
  }

  void wait_for_signals(int timeout_ms) {
    pollfd fd{inbox_.fd(), POLLIN, 0};
    if (::poll(&fd, 1, timeout_ms) < 0 && errno != EINTR) throw_errno("poll", "signalfd");
  }

  void handle(const posix::ReceivedSignal& s) {
    if (s.number == SIGCHLD) {
      reap();
    } else if (is_preemption_request(s.number)) {
      on_preemption_request(s);
    } else if (!outcome_.wait_status_known) {  // SIGUSR1, SIGUSR2: forwarded as they are
      if (::kill(child_, s.number) == 0) {
        log::info("forwarded " + posix::signal_name(s.number) + " to pid " + std::to_string(child_));
      }
    }
  }

  void on_preemption_request(const posix::ReceivedSignal& s) {
    if (outcome_.wait_status_known) return;
    ++requests_;
    const std::string what = posix::signal_name(s.number) + (s.sender > 0 ? " from pid " + std::to_string(s.sender) : "");
    if (requests_ == 1) {
      send_notice(what);
    } else if (requests_ == 2) {
      log::info(what + " again: the job is already being preempted" +
                (term_sent_ ? "" : ", deadline in " + seconds_text(*term_at_ - Clock::now())) +
                "; one more stops it now");
    } else if (!term_sent_) {
      log::warn(what + " a third time: stopping the job now");
      terminate_job("stop requested");
    }
  }

  // The notice file first, then the signal: a rank woken by SIGUSR1 must
  // find the deadline already there.
  void send_notice(const std::string& what) {
    PreemptionNotice notice;
    notice.issued_unix = unix_time_now();
    notice.grace_seconds = settings_.grace_seconds;
    notice.deadline_unix = notice.issued_unix + settings_.grace_seconds;
    notice.reason = what + " to lull run";
    try {
      write_notice_file(settings_.notice_file, notice);
    } catch (const Error& e) {
      log::error("could not write the notice file, the ranks will assume " +
                 format_seconds(settings_.grace_seconds) + " s: " + e.what());
    }
    outcome_.notice_sent = true;
    term_at_ = Clock::now() + seconds(settings_.grace_seconds);
    const std::string deadline =
        wall_clock_text(notice.deadline_unix) + " (in " + format_seconds(settings_.grace_seconds) + " s)";
    const std::string signal = settings_.notice_signal == 0 ? "" : posix::signal_name(settings_.notice_signal);
    log::info(what + ": preemption notice sent (the notice file" +
              (signal.empty() ? "; no signal, --notice-signal none"
                              : ", then " + signal + " to pid " + std::to_string(child_) +
                                    " once every rank is ready for it") +
              "), deadline " + deadline);
    if (settings_.notice_signal == 0) return;
    notice_signal_.emplace(child_, settings_.notice_file, settings_.notice_signal);
    tend_notice_signal();
  }

  void tend_notice_signal() {
    signal_at_ = notice_signal_->tend();
    outcome_.notice_signalled = notice_signal_->sent();
  }

  void fire_due_timers() {
    if (outcome_.wait_status_known) return;
    const Clock::time_point now = Clock::now();
    if (signal_at_ && now >= *signal_at_) tend_notice_signal();
    if (term_at_ && !term_sent_ && now >= *term_at_) terminate_job("grace period over");
    if (kill_at_ && !kill_sent_ && now >= *kill_at_) kill_job();
  }

  void terminate_job(const std::string& why) {
    term_sent_ = true;
    signal_at_.reset();  // a held notice signal is moot now
    outcome_.escalated = true;
    kill_at_ = Clock::now() + seconds(settings_.kill_after_seconds);
    const std::size_t count = signal_job(SIGTERM);
    log::warn(why + ": SIGTERM to the job (" + std::to_string(count) + " process(es)), SIGKILL in " +
              format_seconds(settings_.kill_after_seconds) + " s");
  }

  void kill_job() {
    kill_sent_ = true;
    const std::size_t count = signal_job(SIGKILL);
    log::warn("the job did not stop after SIGTERM: SIGKILL to the job (" + std::to_string(count) + " process(es))");
  }

  // COMMAND's process group, and every other descendant once (ranks live in
  // groups of their own). Returns how many processes the job had.
  std::size_t signal_job(int signal) {
    const std::vector<posix::ProcessInfo> processes = posix::live_descendants(::getpid());
    ::kill(-child_, signal);  // COMMAND is unreaped here, so child_ still names its group
    posix::signal_each(processes, signal, child_);
    return processes.size();
  }

  // Reaps COMMAND and any orphan re-parented to lull run (the subreaper).
  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0 && errno != ECHILD) throw_errno("waitpid", "the job's processes");
        no_children_ = pid < 0;
        return;
      }
      if (pid == child_) {
        outcome_.wait_status_known = true;
        outcome_.wait_status = status;
      }
    }
  }

  // Until lull run has no child left (processes that are exiting, and their
  // zombie children re-parented to us on the way), at most `patience`.
  void reap_all(Clock::duration patience) {
    const Clock::time_point give_up = Clock::now() + patience;
    for (reap(); !no_children_ && Clock::now() < give_up; reap()) ::usleep(5000);
  }

  const SupervisorSettings& settings_;
  posix::SignalInbox& inbox_;
  pid_t child_;
  State outcome_;
  int requests_ = 0;
  std::optional<NoticeSignal> notice_signal_;   // the notice's signal, once there is a notice
  std::optional<Clock::time_point> signal_at_;  // when to tend it next
  std::optional<Clock::time_point> term_at_;
  std::optional<Clock::time_point> kill_at_;
  bool term_sent_ = false;
  bool kill_sent_ = false;
  bool no_children_ = false;  // waitpid said ECHILD: nothing of the job is left
};

std::string command_text(const std::vector<std::string>& command) { return fmt::to_string(fmt::join(command, " ")); }

}  // namespace

JobSupervisor::JobSupervisor(SupervisorSettings settings) : settings_(std::move(settings)) {}

std::unique_ptr<posix::SignalInbox> open_supervisor_inbox() {
  return std::make_unique<posix::SignalInbox>(std::initializer_list<int>{SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD},
                                       std::initializer_list<int>{SIGHUP});
}

SupervisorOutcome JobSupervisor::run(posix::SignalInbox& inbox) {
  if (settings_.launch.command.empty()) throw Error(ErrorCode::invalid_argument, "no command to run");
  // Orphans of the job (ranks whose mpirun died) become our children, so
  // they can be found, signalled and reaped.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw_errno("prctl", "PR_SET_CHILD_SUBREAPER");

  const StartedJob started = start_job(settings_.launch, inbox);
  if (started.pid < 0) {
    SupervisorOutcome failed;
    failed.exec_error = started.exec_error;
    return failed;
  }
  log::info("started pid " + std::to_string(started.pid) + ": " + command_text(settings_.launch.command));

  Supervision supervision(settings_, inbox, started.pid);
  try {
    supervision.supervise();
    supervision.clean_up_leftovers();
  } catch (...) {
    supervision.kill_everything();
    throw;
  }
  return supervision.outcome();
}

}  // namespace lull::run
