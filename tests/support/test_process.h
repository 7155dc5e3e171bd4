#pragma once
// Scratch directories and child processes for the tests.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lull/base/unique_fd.h"

namespace lull::test {

// A fresh directory under $TMPDIR (mode 0700), removed with its content by
// the destructor unless LULL_KEEP_TEST_DIRS is set.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view label);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// A child process started with spawn_process (lull/base/process_spawn.h):
// stdout and stderr are collected separately through pipes, stdin is a pipe
// the test may close. The constructor throws std::system_error when the
// program cannot be started. The destructor SIGKILLs and reaps a child that
// is still running.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  void kill(int signal) noexcept;
  void close_stdin() noexcept;

  // Collects output until stdout (stderr) contains `needle` or `timeout` passes.
  bool wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout);
  bool wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout);
  // Collects output for `duration` (the child keeps running).
  void pump_for(std::chrono::microseconds duration);
  // Waits for the exit (killing the child after `timeout`), collects the
  // rest of the output and returns the raw wait status.
  int wait(std::chrono::milliseconds timeout = std::chrono::minutes(2));

  const std::string& out() const noexcept { return out_; }
  const std::string& err() const noexcept { return err_; }
  const std::string& command() const noexcept { return command_; }

 private:
  // Reads what is available, waiting at most `timeout`: 1 when something
  // was read or closed, 0 on timeout, -1 when both pipes are at EOF.
  int pump(std::chrono::milliseconds timeout);
  bool wait_for_output(const std::string& output, std::string_view needle, std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  UniqueFd out_fd_;
  UniqueFd err_fd_;
  UniqueFd in_fd_;
  bool reaped_ = false;
  int status_ = 0;
  std::string out_;
  std::string err_;
  std::string command_;
};

// What run_in_child() saw.
struct ChildOutcome {
  bool finished = false;   // returned before the timeout (else killed with SIGKILL)
  std::string report;      // what the body returned ("threw: <what>" if it threw)
  long peak_rss_kib = 0;   // the child's peak resident memory
  double seconds = 0;      // wall time until it ended or was killed
};

// Runs `body` in a forked copy of this process, so that a check which could
// hang (a FIFO opened) or allocate without bound is measured from outside:
// the child is killed after `timeout`. `body` returns a report ("" for
// success by convention). No gtest assertion may be used inside it.
ChildOutcome run_in_child(const std::function<std::string()>& body, std::chrono::milliseconds timeout);

// "exited with 0", "killed by signal 9 (Killed)"
std::string describe_status(int status);
bool exited_ok(int status) noexcept;
bool killed_by(int status, int signal) noexcept;

}  // namespace lull::test
