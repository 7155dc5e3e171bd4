// Under `lull run` a notice can come before the program has built its
// Runtime (during MPI_Init, while it loads data): SIGUSR1's default action
// would kill the rank, and the job would lose its work instead of stopping
// cleanly; and one that interrupts a system call (MPI_Init's, a TCP
// rendezvous) can make it fail. So when LULL_NOTICE_FILE is set (by `lull
// run`), as soon as the library is loaded the notice signals get lull's
// flag-setting handler and are blocked in the loading thread (the main
// thread, for a program linked to lull or a Python script's `import lull`)
// and so in every thread it starts later: a notice stays pending until the
// Runtime takes it, as one that came before restore().
#include <signal.h>

#include <cstdlib>

#include "lull/runtime.h"
#include "notice_watcher.h"

namespace {

__attribute__((constructor)) void install_early_notice_handlers() {
  if (std::getenv(lull::kNoticeFileEnv) == nullptr) return;
  std::vector<int> signals{SIGUSR1};
  try {
    auto options = lull::RuntimeOptions::from_environment();
    if (!options.notice_signals.empty()) signals = options.notice_signals;
  } catch (...) {
    // A malformed variable is reported when the Runtime is built; until
    // then the default signal is the notice.
  }
  for (int signo : signals) lull::detail::install_notice_handler(signo, nullptr);
  lull::detail::block_notice_signals(signals, nullptr);
}

}  // namespace
