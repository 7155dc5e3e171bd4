#pragma once
// NoticeSignal — lull run's SIGUSR1 to COMMAND after a preemption notice:
// when it goes out, and when it never does.
//
// The notice file carries the notice at once; the signal is for processes
// that do not read it. But a SIGUSR1 kills a process that takes its default
// action, and mpirun dies of one that reaches it once its ranks have begun
// to exit (its handler still installed: the signal is acted on in its
// teardown) — a clean preemption would end as "mpirun was killed by
// SIGUSR1". So the signal is:
//   held until `due` (the job's first moments), the job looked at meanwhile;
//   dropped once every rank has acknowledged the notice beside the file
//       (lull/base/notice_file.h): it is not needed;
//   dropped once one of COMMAND's children (a rank) has ended since the
//       notice: COMMAND is winding down;
//   held and retried while COMMAND or one of its children (the ranks, to
//       which mpirun forwards it) has no handler for it: mpirun or a rank
//       still starting, mpirun as it exits.
// Each look is one scan of /proc. Not thread-safe.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>

namespace lull::run {

class NoticeSignal {
 public:
  using Clock = std::chrono::steady_clock;

  // For COMMAND's process `command`, whose notice file is `notice_file`; the
  // signal is not sent before `due`.
  NoticeSignal(pid_t command, std::filesystem::path notice_file, Clock::time_point due);

  // Looks at the job and sends the signal, holds it or drops it (each
  // decision other than a retry logged once). Returns when to call again,
  // or nullopt once the signal is sent or dropped. Throws the errno
  // mapper's Error when /proc cannot be read.
  std::optional<Clock::time_point> tend();

  // True once the signal reached COMMAND.
  bool sent() const noexcept { return sent_; }

 private:
  pid_t command_;
  std::filesystem::path notice_file_;
  Clock::time_point due_;
  std::size_t most_children_ = 0;  // the most live children COMMAND had at a look
  bool sent_ = false;
  bool held_logged_ = false;
};

}  // namespace lull::run
