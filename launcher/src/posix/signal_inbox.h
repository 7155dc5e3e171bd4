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
// A child started while the inbox lives must call restore_in_child() between
// fork and exec so it gets the signal mask and dispositions lull run itself
// was given, as if lull run were not there.
//
// One per process (it changes process-wide state); the destructor discards
// signals still waiting, then restores the mask and dispositions. Not
// thread-safe.

#include <signal.h>
#include <sys/types.h>

#include <initializer_list>
#include <vector>

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
  int fd() const noexcept { return fd_; }

  // Every signal waiting now, in arrival order; never blocks. Standard
  // signals do not queue: two SIGTERMs sent before one read arrive as one.
  std::vector<ReceivedSignal> take();

  // Whether `signal` is read here (false for one left ignored).
  bool watches(int signal) const noexcept;

  // Async-signal-safe: only sigaction and sigprocmask. For the child between
  // fork and exec.
  void restore_in_child() const noexcept;

 private:
  struct Saved {
    int number;
    struct sigaction action;
  };
  int fd_ = -1;
  sigset_t watched_{};
  sigset_t original_mask_{};
  std::vector<Saved> original_actions_;
};

}  // namespace lull::posix
