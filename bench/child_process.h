#pragma once
// A child process for the benchmarks that drive real commands (`lull run`):
// started with spawn_process (lull/base/process_spawn.h), its stdout and
// stderr read line by line through pipes, each line stamped with the time it
// arrived.

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "lull/base/unique_fd.h"

namespace lull::bench {

class ChildProcess {
 public:
  enum class Stream { out, err };
  // Called for every complete line, with now_seconds() when it was read.
  using LineHandler = std::function<void(Stream, const std::string& line, double seconds)>;

  // Starts `argv` with this process's environment plus `extra_env`
  // ("NAME=value" entries, overriding). Throws std::runtime_error.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, LineHandler on_line);
  // SIGKILLs and reaps a child still running.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  void kill(int signal) const noexcept;
  // Reads output for up to `seconds`; false once both pipes are closed.
  bool pump(double seconds);
  // Reads to the end of the output, then reaps the child: its exit code
  // (128 + N when killed by signal N). `exited_at` is now_seconds() when
  // waitpid returned.
  int wait(double& exited_at);

 private:
  void read_from(UniqueFd& fd, Stream stream, std::string& pending, double now);

  pid_t pid_ = -1;
  UniqueFd out_fd_;
  UniqueFd err_fd_;
  std::string out_pending_, err_pending_;
  LineHandler on_line_;
};

}  // namespace lull::bench
