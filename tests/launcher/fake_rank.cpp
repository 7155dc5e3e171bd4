// fake_rank: a stand-in for one rank of a training job, for the `lull run`
// tests. It reports what it sees to <report-dir>/rank-<r>.txt (r from
// OMPI_COMM_WORLD_RANK, else 0), one line per fact:
//   env NAME=value              the LULL_* variables at start
//   notice_file_at_start absent|present
//   signal N                    written by the signal handler itself
//   notice deadline=D grace=G issued=I   the notice file read after SIGUSR1
//   notice absent | notice error <what>
//   orphan PID                  the pid of the --spawn-orphan process
// and prints "ready rank=R pid=P" on stdout once its handlers are installed.
//
// Behaviour:
//   default            on SIGUSR1: read the notice, "checkpoint" for
//                      --checkpoint-ms, exit --notice-exit (default 75)
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

namespace {

int report_fd = -1;
volatile sig_atomic_t notice_seen = 0;

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
  if (number == SIGUSR1) notice_seen = 1;
}

void report(const std::string& line) {
  const std::string text = line + "\n";
  if (report_fd >= 0) [[maybe_unused]] ssize_t ignored = ::write(report_fd, text.data(), text.size());
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
  const int rank = rank_text != nullptr ? std::atoi(rank_text) : 0;
  const std::string report_path = report_dir + "/rank-" + std::to_string(rank) + ".txt";
  report_fd = ::open(report_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (report_fd < 0) {
    std::perror(report_path.c_str());
    return 2;
  }

  install(SIGUSR1);
  install(SIGUSR2);
  if (ignore_term) install(SIGTERM);
  for (const char* name : {"LULL_JOB", "LULL_CKPT_DIR", "LULL_GRACE_SECONDS", "LULL_EVERY_STEPS",
                           "LULL_EVERY_SECONDS", "LULL_NOTICE_FILE"}) {
    const char* v = std::getenv(name);
    if (v != nullptr) report(std::string("env ") + name + "=" + v);
  }
  const char* notice_path = std::getenv(lull::kNoticeFileEnv);
  report(std::string("notice_file_at_start ") +
         (notice_path != nullptr && ::access(notice_path, F_OK) == 0 ? "present" : "absent"));
  if (orphan) spawn_orphan();
  report("ready");
  std::printf("ready rank=%d pid=%d\n", rank, static_cast<int>(::getpid()));
  std::fflush(stdout);

  if (exit_now) return *exit_now;
  if (raise_now) {
    ::signal(*raise_now, SIG_DFL);
    ::raise(*raise_now);
  }
  bool notice_handled = false;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (notice_seen != 0 && !notice_handled) {
      notice_handled = true;
      report_notice();
      if (!ignore_notice) {
        std::this_thread::sleep_for(std::chrono::milliseconds(checkpoint_ms));
        report("exit " + std::to_string(notice_exit));
        return notice_exit;
      }
    }
  }
}
