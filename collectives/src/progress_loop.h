#pragma once
// The polling loop every blocking collective waits in.
//
// Spins with yields for the first 200 µs (a small collective usually ends
// there, and yielding lets an oversubscribed peer run), then sleeps 20 µs,
// doubling up to 500 µs. Between polls the Watch is checked, so a collective
// past its deadline, or an aborted communicator, ends the wait by throwing.

#include <chrono>
#include <thread>

#include "collective_watchdog.h"

namespace lull::detail {

class ProgressBackoff {
 public:
  void pause() noexcept {
    auto now = std::chrono::steady_clock::now();
    if (now < spin_until_) {
      std::this_thread::yield();
      return;
    }
    std::this_thread::sleep_for(sleep_);
    if (sleep_ < kMaxSleep) sleep_ *= 2;
  }

 private:
  static constexpr std::chrono::microseconds kSpin{200};
  static constexpr std::chrono::microseconds kMaxSleep{500};
  std::chrono::steady_clock::time_point spin_until_ = std::chrono::steady_clock::now() + kSpin;
  std::chrono::microseconds sleep_{20};
};

// Calls poll() until it returns true, checking `watch` in between.
template <class Poll>
void progress_until(CollectiveWatchdog::Watch& watch, Poll&& poll) {
  ProgressBackoff backoff;
  while (!poll()) {
    watch.check();
    backoff.pause();
  }
}

}  // namespace lull::detail
