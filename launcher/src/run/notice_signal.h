#pragma once
// NoticeSignal — lull run's signal to COMMAND after a preemption notice
// (SIGUSR1 by default, `--notice-signal`): when it goes out, and when it
// never does.
//
// The notice file carries the notice at once, and every rank reads it from
// the moment its Runtime is built; the signal only makes a running rank see
// it sooner, and reaches processes that do not read the file. But a signal
// kills a process that takes its default action (a rank still in `import
// torch` or MPI_Init, mpirun as it exits), and interrupts system calls the
// program may not restart. So the signal is:
//   held until every rank is ready for it: each has left its ready marker
//       beside the notice file (lull/base/notice_file.h; the Runtime does,
//       once its handlers are installed), however long the job takes to
//       start — ranks that never mark themselves ready get the file alone;
//   held, and retried, while COMMAND or any process below it (the ranks,
//       their children: mpirun signals the ranks' process groups) has no
//       handler for it: mpirun starting or exiting, a helper process;
//   dropped once every rank has acknowledged the notice beside the file:
//       it is not needed;
//   dropped once one of COMMAND's children (a rank) has ended since the
//       notice: COMMAND is winding down.
// Each look is one scan of /proc and of the notice file's directory. Not
// thread-safe.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>

namespace lull::run {

class NoticeSignal {
 public:
  using Clock = std::chrono::steady_clock;

  // For COMMAND's process `command`, whose notice file is `notice_file`;
  // the signal is `signal` (SIGUSR1, SIGTERM).
  NoticeSignal(pid_t command, std::filesystem::path notice_file, int signal);

  // Looks at the job and sends the signal, holds it or drops it (each
  // decision logged once). Returns when to call again, or nullopt once the
  // signal is sent or dropped. Throws the errno mapper's Error when /proc
  // cannot be read.
  std::optional<Clock::time_point> tend();

  // True once the signal reached COMMAND.
  bool sent() const noexcept { return sent_; }

 private:
  void log_hold_once(const std::string& why);

  pid_t command_;
  std::filesystem::path notice_file_;
  int signal_;
  std::size_t most_children_ = 0;  // the most live children COMMAND had at a look
  bool sent_ = false;
  std::string last_hold_;  // the reason last logged for holding the signal
};

}  // namespace lull::run
