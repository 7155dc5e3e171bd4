// What a collective timeout says, and the default way out of one.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "collective_watchdog.h"
#include "lull/base/log.h"
#include "lull/base/utc_time.h"

namespace lull {

std::string StuckCollective::describe() const {
  return fmt::format(
      "collective timeout: {} #{} on communicator '{}' ({}, rank {} of {}) still pending after {:.1f} s (waiting "
      "since {}, timeout {:g} s): a peer rank died, hangs, or called the collectives in a different order",
      operation, sequence, label, backend, rank, size, waited_seconds, iso8601_utc_millis(since), timeout_seconds);
}

namespace detail {

void exit_on_collective_timeout(const StuckCollective& stuck,
                                const std::function<void()>& abort_backend) noexcept {
  try {
    log::error(stuck.describe() + "; exiting with code " + std::to_string(kExitCollectiveTimeout) +
               " (set " + kCollectiveTimeoutEnv + " to wait longer)");
  } catch (...) {
    static const char fallback[] = "lull: collective timeout; exiting\n";
    std::fwrite(fallback, 1, sizeof fallback - 1, stderr);
  }
  if (abort_backend) {
    // ncclCommAbort has been seen to hang: give it 10 s on a thread of its
    // own, then leave anyway.
    try {
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::thread([abort_backend, done] {
        try {
          abort_backend();
        } catch (...) {
        }
        done->store(true);
      }).detach();
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!done->load() && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    } catch (...) {
    }
  }
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(kExitCollectiveTimeout);
}

}  // namespace detail
}  // namespace lull
