#pragma once
// SignalInbox — signals delivered to `lull run` as data to read, not handlers.
//
// The signals given are blocked and read from a signalfd in the supervisor's
// poll loop, so no code runs in signal context at all (nothing to keep
// async-signal-safe, no lost wake-ups, no EINTR). Their dispositions are set
// to SIG_DFL while the inbox lives (an ignored signal would be discarded
// before it could be read), except those listed as `honour_if_ignored` that
// were ignored on entry (SIGHUP under nohup): those stay ignored and are
// not read.
//
// A child started while the inbox lives must be given child_signals() (see
// spawn_process) so it gets the signal mask and dispositions lull run itself
// was given, as if lull run were not there.
//
// One per process (it changes process-wide state); the destructor discards
// signals still waiting, then restores the mask and dispositions. Not
// thread-safe.

#include <signal.h>
#include <sys/types.h>

#include <initializer_list>
#include <vector>

#include "lull/base/process_spawn.h"
#include "lull/base/unique_fd.h"

namespace lull::posix {

struct ReceivedSignal {
  int number = 0;
  pid_t sender = 0;  // 0 when the kernel sent it (SIGCHLD from an exit, terminal)
};

class SignalInbox {
 public:
  // Throws the errno mapper's Error when a call fails.
  SignalInbox(std::initializer_list<int> signals, std::initializer_list<int> honour_if_ignored);
  ~SignalInbox();
  SignalInbox(const SignalInbox&) = delete;
  SignalInbox& operator=(const SignalInbox&) = delete;

  // For poll(): readable when a signal is waiting.
  int fd() const noexcept { return fd_.get(); }

  // Every signal waiting now, in arrival order; never blocks. Standard
  // signals do not queue: two SIGTERMs sent before one read arrive as one.
  std::vector<ReceivedSignal> take();

  // Whether `signal` is read here (false for one left ignored).
  bool watches(int signal) const noexcept;

  // The dispositions and mask this process had before the inbox, for a
  // child to start its program with.
  ChildSignals child_signals() const;

 private:
  UniqueFd fd_;
  sigset_t watched_{};
  ChildSignals original_;  // the dispositions of the watched signals and the mask
};

}  // namespace lull::posix
