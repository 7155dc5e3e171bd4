// fake_rank: a stand-in for one rank of a training job, for the `lull run`
// tests. It reports what it sees to <report-dir>/rank-<r>.txt (r from
// OMPI_COMM_WORLD_RANK, else RANK as torchrun sets it, else 0), one line per fact:
//   env NAME=value              the LULL_* variables at start
//   notice_file_at_start absent|present
//   signal N                    written by the signal handler itself
//   notice deadline=D grace=G issued=I   the notice file read after SIGUSR1
//   notice absent | notice error <what>
//   acknowledged R of N at S    it left the acknowledgement (--acknowledge)
//   committed S                 it committed snapshot step S (--commit-step)
//   exit N                      it is about to exit with N
//   orphan PID                  the pid of the --spawn-orphan process
// and prints "ready rank=R pid=P" on stdout once its handlers are installed,
// when it also leaves its ready marker beside the notice file, as the
// Runtime does (rank R of OMPI_COMM_WORLD_SIZE, else of 1), and reports
//   marking ready               it is about to leave it
//
// Behaviour:
//   default            on SIGUSR1: read the notice, "checkpoint" for
//                      --checkpoint-ms, exit --notice-exit (default 75)
//   --poll-notice      also take the notice from the file, polled every 10 ms
//                      (as the runtime does), without waiting for SIGUSR1
//   --no-usr1-handler  leave SIGUSR1 at its default action (it kills), as
//                      mpirun has it while it starts and while it exits
//                      (its ready marker says otherwise: only lull run's
//                      look at the handlers protects it)
//   --ready-after-ms M mark itself ready M ms after "ready" (a rank whose
//                      Runtime is built late), not at once
//   --never-ready      leave no ready marker (a program without the runtime)
//   --term-notice      SIGTERM is a notice too (LULL_NOTICE_SIGNALS=USR1,TERM)
//   --acknowledge N    on the notice, acknowledge it as rank R of N at step
//                      --step (default 0), as the runtime does
//   --commit-step S    on the notice, rank 0 commits a real snapshot of step
//                      S into LULL_CKPT_DIR (as the ranks of a job would)
//   --exit-at T        stop at wall-clock time T (seconds since the epoch)
//                      rather than --checkpoint-ms after the notice
//   --die-of-notice-signal  after taking the notice, wait (up to
//                      --checkpoint-ms) for SIGUSR1 and die of it: mpirun
//                      restoring its default action as it exits, just after
//                      lull run saw its handler
//   --ignore-notice    record SIGUSR1 and keep running
//   --ignore-term      record SIGTERM and keep running (SIGKILL is needed)
//   --exit N           exit with N right after "ready"
//   --raise N          kill itself with signal N right after "ready"
//   --spawn-orphan     fork a process that leaves the process group
//                      (setsid) and sleeps 60 s: only a supervisor that
//                      tracks descendants can clean it up
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "lull/base/error.h"
#include "lull/base/notice_file.h"
#include "lull/checkpoint.h"
#include "support/snapshot_spec.h"

namespace {

int report_fd = -1;
volatile sig_atomic_t notice_seen = 0;
volatile sig_atomic_t term_is_notice = 0;

// Async-signal-safe: "signal N\n" with write().
void record_signal(int number) {
  char line[32] = "signal ";
  std::size_t length = 7;
  char digits[12];
  std::size_t count = 0;
  for (int n = number; n > 0 || count == 0; n /= 10) digits[count++] = static_cast<char>('0' + n % 10);
  while (count > 0) line[length++] = digits[--count];
  line[length++] = '\n';
  if (report_fd >= 0) [[maybe_unused]] ssize_t ignored = ::write(report_fd, line, length);
}

void on_signal(int number) {
  record_signal(number);
  if (number == SIGUSR1 || (number == SIGTERM && term_is_notice != 0)) notice_seen = 1;
}

void report(const std::string& line) {
  const std::string text = line + "\n";
  if (report_fd >= 0) [[maybe_unused]] ssize_t ignored = ::write(report_fd, text.data(), text.size());
}

void mark_ready(int rank) {
  const char* path = std::getenv(lull::kNoticeFileEnv);
  const char* world_text = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (world_text == nullptr) world_text = std::getenv("WORLD_SIZE");  // started as torchrun starts workers
  if (path == nullptr) return;
  report("marking ready");  // before the marker: a signal it lets through comes after this line
  try {
    lull::mark_ready_for_notice(path, rank, world_text != nullptr ? std::atoi(world_text) : 1);
  } catch (const lull::Error& e) {
    report(std::string("mark ready failed ") + e.what());
  }
}

void install(int number) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(number, &action, nullptr);
}

void report_notice() {
  const char* path = std::getenv(lull::kNoticeFileEnv);
  if (path == nullptr) {
    report("notice no_variable");
    return;
  }
  try {
    const std::optional<lull::PreemptionNotice> notice = lull::read_notice_file(path);
    if (!notice) {
      report("notice absent");
      return;
    }
    char line[256];
    std::snprintf(line, sizeof line, "notice deadline=%.3f grace=%.3f issued=%.3f", notice->deadline_unix,
                  notice->grace_seconds, notice->issued_unix);
    report(line);
  } catch (const lull::Error& e) {
    report(std::string("notice error ") + e.what());
  }
}

struct NoticeActions {
  std::optional<int> acknowledge_world;
  std::uint64_t step = 0;
  std::optional<std::uint64_t> commit_step;
};

// What a rank does once it has the notice, before it stops.
void take_notice(const NoticeActions& actions, int rank) {
  report_notice();
  const char* path = std::getenv(lull::kNoticeFileEnv);
  try {
    if (actions.acknowledge_world && path != nullptr) {
      lull::acknowledge_notice(path, {rank, *actions.acknowledge_world, actions.step});
      report("acknowledged " + std::to_string(rank) + " of " + std::to_string(*actions.acknowledge_world) + " at " +
             std::to_string(actions.step));
    }
    const char* ckpt = std::getenv("LULL_CKPT_DIR");
    if (actions.commit_step && rank == 0 && ckpt != nullptr) {
      lull::SnapshotStore store(ckpt);
      lull::test::SnapshotSpec spec;
      spec.tensors.push_back({"weights", lull::DType::f32, lull::Shape{16}, -1});
      // As the runtime writes it: with the job's name.
      lull::SnapshotWriter writer = store.writer(*actions.commit_step, 0, 1);
      lull::test::write_rank(writer, spec, *actions.commit_step, 0, 1);
      const char* job = std::getenv("LULL_JOB");
      writer.set_metadata(lull::kJobMetadataKey, job != nullptr ? job : "job");
      store.commit(*actions.commit_step, {writer.finish()});
      report("committed " + std::to_string(*actions.commit_step));
    }
  } catch (const lull::Error& e) {
    report(std::string("notice action failed ") + e.what());
  }
}

bool notice_file_exists() {
  const char* path = std::getenv(lull::kNoticeFileEnv);
  return path != nullptr && ::access(path, F_OK) == 0;
}

void spawn_orphan() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    for (int fd = 3; fd < 64; ++fd) ::close(fd);
    ::sleep(60);
    ::_exit(0);
  }
  report("orphan " + std::to_string(pid));
}

}  // namespace

int main(int argc, char** argv) {
  std::string report_dir = ".";
  bool ignore_notice = false;
  bool ignore_term = false;
  bool orphan = false;
  bool poll_notice = false;
  bool usr1_handler = true;
  bool die_of_notice_signal = false;
  bool term_notice = false;
  bool never_ready = false;
  int ready_after_ms = 0;
  NoticeActions actions;
  std::optional<double> exit_at_unix;
  int notice_exit = 75;
  int checkpoint_ms = 100;
  std::optional<int> exit_now;
  std::optional<int> raise_now;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fake_rank: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--report") report_dir = value();
    else if (arg == "--ignore-notice") ignore_notice = true;
    else if (arg == "--ignore-term") ignore_term = true;
    else if (arg == "--spawn-orphan") orphan = true;
    else if (arg == "--poll-notice") poll_notice = true;
    else if (arg == "--no-usr1-handler") usr1_handler = false;
    else if (arg == "--ready-after-ms") ready_after_ms = std::stoi(value());
    else if (arg == "--term-notice") term_notice = true;
    else if (arg == "--never-ready") never_ready = true;
    else if (arg == "--die-of-notice-signal") die_of_notice_signal = true;
    else if (arg == "--acknowledge") actions.acknowledge_world = std::stoi(value());
    else if (arg == "--step") actions.step = std::stoull(value());
    else if (arg == "--commit-step") actions.commit_step = std::stoull(value());
    else if (arg == "--exit-at") exit_at_unix = std::stod(value());
    else if (arg == "--notice-exit") notice_exit = std::stoi(value());
    else if (arg == "--checkpoint-ms") checkpoint_ms = std::stoi(value());
    else if (arg == "--exit") exit_now = std::stoi(value());
    else if (arg == "--raise") raise_now = std::stoi(value());
    else {
      std::fprintf(stderr, "fake_rank: unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  const char* rank_text = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank_text == nullptr) rank_text = std::getenv("RANK");
  const int rank = rank_text != nullptr ? std::atoi(rank_text) : 0;
  const std::string report_path = report_dir + "/rank-" + std::to_string(rank) + ".txt";
  report_fd = ::open(report_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (report_fd < 0) {
    std::perror(report_path.c_str());
    return 2;
  }

  if (usr1_handler) install(SIGUSR1);
  install(SIGUSR2);
  term_is_notice = term_notice ? 1 : 0;
  if (ignore_term || term_notice) install(SIGTERM);
  for (const char* name : {"LULL_JOB", "LULL_CKPT_DIR", "LULL_GRACE_SECONDS", "LULL_EVERY_STEPS",
                           "LULL_EVERY_SECONDS", "LULL_NOTICE_FILE", "LULL_NOTICE_SIGNALS"}) {
    const char* v = std::getenv(name);
    if (v != nullptr) report(std::string("env ") + name + "=" + v);
  }
  const char* notice_path = std::getenv(lull::kNoticeFileEnv);
  report(std::string("notice_file_at_start ") +
         (notice_path != nullptr && ::access(notice_path, F_OK) == 0 ? "present" : "absent"));
  if (orphan) spawn_orphan();
  report("ready");
  bool marked_ready = never_ready;
  if (!marked_ready && ready_after_ms == 0) {
    mark_ready(rank);
    marked_ready = true;
  }
  std::printf("ready rank=%d pid=%d\n", rank, static_cast<int>(::getpid()));
  std::fflush(stdout);
  const auto ready_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(ready_after_ms);

  if (exit_now) return *exit_now;
  if (raise_now) {
    ::signal(*raise_now, SIG_DFL);
    ::raise(*raise_now);
  }
  bool notice_handled = false;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!marked_ready && std::chrono::steady_clock::now() >= ready_at) {
      marked_ready = true;
      mark_ready(rank);
    }
    if ((notice_seen != 0 || (poll_notice && notice_file_exists())) && !notice_handled) {
      notice_handled = true;
      take_notice(actions, rank);
      if (ignore_notice) continue;
      const auto linger = exit_at_unix ? std::chrono::duration<double>(*exit_at_unix - lull::unix_time_now())
                                       : std::chrono::duration<double>(checkpoint_ms / 1000.0);
      const auto stop_at =
          std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(linger);
      while (std::chrono::steady_clock::now() < stop_at) {
        if (die_of_notice_signal && notice_seen != 0) {
          report("dying of SIGUSR1");
          ::signal(SIGUSR1, SIG_DFL);
          ::raise(SIGUSR1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      report("exit " + std::to_string(notice_exit));
      return notice_exit;
    }
  }
}
