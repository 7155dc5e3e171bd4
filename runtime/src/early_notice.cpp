// Under `lull run` a notice can come before the program has built its
// Runtime (during MPI_Init, while it loads data): SIGUSR1's default action
// would kill the rank, and the job would lose its work instead of stopping
// cleanly. So when LULL_NOTICE_FILE is set (by `lull run`), the notice
// signals get lull's flag-setting handler as soon as the library is loaded;
// the Runtime then sees the flag as a notice that came before restore().
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
}

}  // namespace
