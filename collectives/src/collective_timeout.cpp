// What a collective timeout says, and the default way out of one.

#include <time.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "collective_watchdog.h"
#include "lull/base/log.h"

namespace lull {

namespace {

// "2025-06-01T12:00:00.250Z"
std::string utc_text(std::chrono::system_clock::time_point t) {
  auto since_epoch = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s);
  return buf;
}

std::string timeout_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

std::string StuckCollective::describe() const {
  return "collective timeout: " + operation + " #" + std::to_string(sequence) + " on communicator '" +
         label + "' (" + backend + ", rank " + std::to_string(rank) + " of " + std::to_string(size) +
         ") still pending after " + seconds_text(waited_seconds) + " s (waiting since " +
         utc_text(since) + ", timeout " + timeout_text(timeout_seconds) +
         " s): a peer rank died, hangs, or called the collectives in a different order";
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
