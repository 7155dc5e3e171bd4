#include "posix/signal_inbox.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "lull/base/errno_error.h"

namespace lull::posix {

SignalInbox::SignalInbox(std::initializer_list<int> signals, std::initializer_list<int> honour_if_ignored) {
  sigemptyset(&watched_);
  for (int number : signals) {
    struct sigaction current {};
    if (::sigaction(number, nullptr, &current) != 0) throw_errno("sigaction", "signal " + std::to_string(number));
    const bool honour =
        std::find(honour_if_ignored.begin(), honour_if_ignored.end(), number) != honour_if_ignored.end();
    if (current.sa_handler == SIG_IGN && honour) continue;
    original_.dispositions.push_back({number, current});
    sigaddset(&watched_, number);
  }
  if (::sigprocmask(SIG_BLOCK, &watched_, &original_.mask) != 0) throw_errno("sigprocmask", "SIG_BLOCK");
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  for (const auto& saved : original_.dispositions) {
    if (::sigaction(saved.number, &default_action, nullptr) != 0) {
      throw_errno("sigaction", "signal " + std::to_string(saved.number));
    }
  }
  fd_ = UniqueFd(::signalfd(-1, &watched_, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_.valid()) {
    const int err = errno;
    ::sigprocmask(SIG_SETMASK, &original_.mask, nullptr);
    throw errno_error(err, "signalfd", "the supervisor's signals");
  }
}

SignalInbox::~SignalInbox() {
  fd_.reset();
  // A signal still pending was meant for the inbox, not for the default
  // action: SIG_IGN discards it before the mask is restored. (Not SIGCHLD:
  // ignoring it would make the kernel reap children on its own.)
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (const auto& saved : original_.dispositions) {
    if (saved.number != SIGCHLD) ::sigaction(saved.number, &ignore, nullptr);
  }
  ::sigprocmask(SIG_SETMASK, &original_.mask, nullptr);
  for (const auto& saved : original_.dispositions) ::sigaction(saved.number, &saved.action, nullptr);
}

std::vector<ReceivedSignal> SignalInbox::take() {
  std::vector<ReceivedSignal> received;
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) {
      received.push_back({static_cast<int>(info.ssi_signo), static_cast<pid_t>(info.ssi_pid)});
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) throw_errno("read", "signalfd");
    break;  // a short read cannot happen with a whole siginfo buffer
  }
  return received;
}

bool SignalInbox::watches(int signal) const noexcept { return sigismember(&watched_, signal) == 1; }

ChildSignals SignalInbox::child_signals() const { return original_; }

}  // namespace lull::posix
