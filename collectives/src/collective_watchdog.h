#pragma once
// CollectiveWatchdog — notices a collective stuck past its timeout.
//
// One per communicator. Each in-flight collective is registered as a Watch;
// its clock runs from arm() (blocking collectives arm at once; a pending
// start_allreduce() arms at its first test()/wait()). Two independent eyes
// look at the clocks:
//   - the waiting thread, which calls Watch::check() between polls; and
//   - the watchdog thread, which wakes every tick (timeout/10, within
//     [10 ms, 1 s]), bumps its heartbeat and scans the registry; it is what
//     catches a caller stuck outside lull's polling loop (inside a hook, a
//     blocking MPI or CUDA call).
// Whichever notices first fires: the on_timeout handler runs exactly once
// (the default logs and exits the process); if it returns, the watchdog is
// aborted and every check() throws. The watchdog thread never calls MPI.
// Both eyes read the time from WatchdogSettings::clock; the thread's ticks
// are real time whatever the clock (a test clock that stands still never
// times out, however long the thread ticks).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lull/base/clock.h"
#include "lull/base/dtype.h"
#include "lull/base/source_location.h"
#include "lull/collectives/communicator.h"

namespace lull::detail {

// What a collective is, cheap to build on every call; text() only when needed.
struct CollectiveDescription {
  const char* operation = "";  // a string literal: "allreduce"
  std::optional<DType> dtype;  // with count: "f32 x 1024"
  std::optional<ReduceOp> op;
  std::size_t count = 0;
  const char* unit = nullptr;  // without dtype: "bytes", "bytes per rank"
  int root = -1;

  std::string text() const;  // "allreduce(f32 x 1024, sum)", "broadcast(64 bytes, root 0)"

  static CollectiveDescription named(const char* operation) noexcept {
    CollectiveDescription d;
    d.operation = operation;
    return d;
  }
  static CollectiveDescription reduction(const char* operation, DType dtype, ReduceOp op,
                                         std::size_t count) noexcept {
    CollectiveDescription d = named(operation);
    d.dtype = dtype;
    d.op = op;
    d.count = count;
    return d;
  }
  static CollectiveDescription bytes(const char* operation, std::size_t count, const char* unit,
                                     int root = -1) noexcept {
    CollectiveDescription d = named(operation);
    d.count = count;
    d.unit = unit;
    d.root = root;
    return d;
  }
};

struct WatchdogSettings {
  std::string backend;  // "mpi", "nccl"
  std::string label;
  int rank = -1;
  int size = 0;
  std::chrono::nanoseconds timeout{std::chrono::seconds(60)};
  // Empty: the default (log, abort_backend bounded, _Exit(kExitCollectiveTimeout)).
  std::function<void(const StuckCollective&)> on_timeout;
  // Run by the default handler before exiting (NCCL: ncclCommAbort). Must be
  // callable from any thread. May be empty.
  std::function<void()> abort_backend;
  // Where the collectives' clocks are read (the deadlines, the waited
  // seconds and the wall time they began). Borrowed: it must outlive the
  // watchdog. Tests pass a clock they advance by hand.
  const Clock* clock = &real_clock();
};

class CollectiveWatchdog {
 public:
  explicit CollectiveWatchdog(WatchdogSettings settings);
  ~CollectiveWatchdog();  // stops and joins the thread; never fires
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // One registered collective; move-only; unregisters when destroyed.
  class Watch {
   public:
    Watch() noexcept = default;
    Watch(Watch&& other) noexcept;
    Watch& operator=(Watch&& other) noexcept;
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch();

    // Starts the clock (no effect if it runs already).
    void arm();
    // Stops the clock; the next arm() starts it afresh.
    void disarm();
    // Throws lull::Error if the communicator was aborted or this collective
    // is past its deadline (firing the handler first if nobody did yet).
    // Cheap when nothing happened: an atomic load and a clock read.
    void check();
    // Unregisters now (done).
    void release() noexcept;
    bool active() const noexcept { return owner_ != nullptr; }

   private:
    friend class CollectiveWatchdog;
    Watch(CollectiveWatchdog* owner, std::uint64_t id) noexcept : owner_(owner), id_(id) {}
    CollectiveWatchdog* owner_ = nullptr;
    std::uint64_t id_ = 0;
    std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  };

  // Registers a collective (sequence: its number on this communicator).
  Watch watch(const CollectiveDescription& what, std::uint64_t sequence, bool armed);

  // Aborts without running the handler; keeps the first reason. Any thread.
  void abort(std::string reason) noexcept;
  bool aborted() const noexcept { return state_.load(std::memory_order_acquire) == kFired; }
  std::string abort_reason() const;
  // Throws the aborted Error if aborted.
  void throw_if_aborted(SourceLocation where = SourceLocation::current()) const;

  // Ticks of the watchdog thread so far: proof that it is alive.
  std::uint64_t heartbeat() const noexcept { return heartbeat_.load(std::memory_order_relaxed); }
  std::chrono::nanoseconds tick() const noexcept { return tick_; }
  std::chrono::nanoseconds timeout() const noexcept { return settings_.timeout; }
  const WatchdogSettings& settings() const noexcept { return settings_; }

 private:
  static constexpr int kIdle = 0, kFiring = 1, kFired = 2;

  struct Entry {
    std::uint64_t id;
    std::uint64_t sequence;
    CollectiveDescription what;
    std::optional<std::chrono::steady_clock::time_point> armed_at;
    std::chrono::system_clock::time_point armed_wall;
  };

  void run() noexcept;
  void arm(Watch& watch);
  void disarm(Watch& watch);
  void unregister(std::uint64_t id) noexcept;
  // Fires for entry `id` (or waits for a firing in progress); returns when
  // the handler returned. Called without the lock held.
  void fire(std::uint64_t id);
  StuckCollective report_for(const Entry& entry) const;
  [[noreturn]] void throw_aborted(SourceLocation where) const;

  WatchdogSettings settings_;
  std::chrono::nanoseconds tick_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;  // wakes the thread (stop) and waiters for a firing
  std::vector<Entry> entries_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::string abort_reason_;

  std::atomic<int> state_{kIdle};
  std::atomic<std::uint64_t> heartbeat_{0};
  std::thread thread_;  // last: started once everything else exists
};

// The default on_timeout: logs `stuck` at error level, runs `abort_backend`
// (if any) for at most 10 s, and exits the process with kExitCollectiveTimeout.
[[noreturn]] void exit_on_collective_timeout(const StuckCollective& stuck,
                                             const std::function<void()>& abort_backend) noexcept;

}  // namespace lull::detail
