// The watchdog and the f16/bf16 conversions on their own: no MPI, no mpirun.
// The watchdog's timing runs on a clock the test moves (support/manual_clock.h):
// "not before the timeout" and "exactly at it" are tested without sleeping.
// Its thread ticks in real time; the tests wait for its heartbeat, not for
// time to pass.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "collective_watchdog.h"
#include "half_float.h"
#include "lull/base/error.h"
#include "support/manual_clock.h"

namespace lull::detail {
namespace {

using namespace std::chrono_literals;
using test::ManualClock;

struct Recorder {
  std::mutex mutex;
  std::vector<StuckCollective> reports;
  std::atomic<int> calls{0};
  std::function<void(const StuckCollective&)> handler() {
    return [this](const StuckCollective& s) {
      std::lock_guard lock(mutex);
      reports.push_back(s);
      ++calls;
    };
  }
};

WatchdogSettings settings(std::chrono::nanoseconds timeout, Recorder& recorder, const Clock& clock) {
  WatchdogSettings s;
  s.backend = "mpi";
  s.label = "unit";
  s.rank = 3;
  s.size = 4;
  s.timeout = timeout;
  s.on_timeout = recorder.handler();
  s.clock = &clock;
  return s;
}

// Polls `condition` until it holds or `limit` (real time, generous for a
// loaded machine) passed.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// Returns once the watchdog's thread has made two whole scans since the
// call: whatever it would notice at the test clock's present time, it has
// noticed (and its handler has returned).
void let_the_thread_scan(const CollectiveWatchdog& dog) {
  const std::uint64_t from = dog.heartbeat();
  ASSERT_TRUE(wait_until([&] { return dog.heartbeat() >= from + 3; }, 10000ms)) << "the watchdog thread stopped";
}

TEST(CollectiveWatchdog, ThreadNoticesACallerStuckOutsideThePollingLoop) {
  ManualClock clock;
  Recorder recorder;
  CollectiveWatchdog dog(settings(300ms, recorder, clock));
  auto watch = dog.watch(CollectiveDescription::reduction("allreduce", DType::f32, ReduceOp::sum, 1024), 17, true);
  // Nobody calls check(): only the watchdog thread can notice.
  clock.advance(300ms - 1ns);
  let_the_thread_scan(dog);
  EXPECT_EQ(recorder.calls.load(), 0) << "fired before the timeout";
  clock.advance(1ns);
  ASSERT_TRUE(wait_until([&] { return recorder.calls.load() > 0; }, 10000ms)) << "not fired at the timeout";
  std::lock_guard lock(recorder.mutex);
  const StuckCollective& s = recorder.reports.at(0);
  EXPECT_EQ(s.operation, "allreduce(f32 x 1024, sum)");
  EXPECT_EQ(s.sequence, 17u);
  EXPECT_EQ(s.rank, 3);
  EXPECT_EQ(s.size, 4);
  EXPECT_EQ(s.backend, "mpi");
  EXPECT_DOUBLE_EQ(s.waited_seconds, 0.3);
  EXPECT_DOUBLE_EQ(s.timeout_seconds, 0.3);
  EXPECT_EQ(s.since, std::chrono::system_clock::time_point(ManualClock::kWallOrigin));  // when it was armed
  EXPECT_TRUE(dog.aborted());
  EXPECT_EQ(dog.abort_reason(), s.describe());
}

TEST(CollectiveWatchdog, CallerCheckFiresAtTheTimeoutOnceAndThenAlwaysThrows) {
  ManualClock clock;
  Recorder recorder;
  CollectiveWatchdog dog(settings(500ms, recorder, clock));
  auto a = dog.watch(CollectiveDescription::named("barrier"), 1, true);
  auto b = dog.watch(CollectiveDescription::bytes("broadcast", 64, "bytes", 0), 2, true);
  clock.advance(500ms - 1ns);
  EXPECT_NO_THROW(a.check());
  EXPECT_NO_THROW(b.check());
  clock.advance(1ns);
  EXPECT_THROW(a.check(), Error);
  EXPECT_THROW(b.check(), Error);
  EXPECT_THROW(dog.throw_if_aborted(), Error);
  let_the_thread_scan(dog);
  EXPECT_EQ(recorder.calls.load(), 1) << "the handler runs once per communicator";
  try {
    a.check();
    ADD_FAILURE() << "check() after the timeout returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("collective timeout: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is aborted"), std::string::npos) << e.what();
  }
}

TEST(CollectiveWatchdog, UnarmedAndDisarmedWatchesNeverFire) {
  ManualClock clock;
  Recorder recorder;
  CollectiveWatchdog dog(settings(500ms, recorder, clock));
  auto pending = dog.watch(CollectiveDescription::reduction("start_allreduce", DType::i64, ReduceOp::max, 1), 1, false);
  auto posted = dog.watch(CollectiveDescription::named("barrier"), 2, true);
  posted.disarm();
  clock.advance(1000ms);  // twice the timeout since the watches began
  EXPECT_NO_THROW(pending.check());
  EXPECT_NO_THROW(posted.check());
  let_the_thread_scan(dog);
  EXPECT_EQ(recorder.calls.load(), 0);
  pending.arm();  // the first test(): the clock starts now, not when the watch began
  clock.advance(500ms - 1ns);
  EXPECT_NO_THROW(pending.check());
  clock.advance(1ns);
  ASSERT_TRUE(wait_until([&] { return recorder.calls.load() > 0; }, 10000ms));
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(recorder.reports.at(0).operation, "start_allreduce(i64 x 1, max)");
  EXPECT_DOUBLE_EQ(recorder.reports.at(0).waited_seconds, 0.5);
}

TEST(CollectiveWatchdog, ReleasedWatchesAreForgotten) {
  ManualClock clock;
  Recorder recorder;
  CollectiveWatchdog dog(settings(50ms, recorder, clock));
  {
    auto done = dog.watch(CollectiveDescription::named("barrier"), 1, true);
  }
  auto released = dog.watch(CollectiveDescription::named("barrier"), 2, true);
  released.release();
  EXPECT_FALSE(released.active());
  clock.advance(200ms);
  let_the_thread_scan(dog);
  EXPECT_EQ(recorder.calls.load(), 0);
  EXPECT_FALSE(dog.aborted());
}

TEST(CollectiveWatchdog, HeartbeatTicksWhileIdle) {
  Recorder recorder;
  CollectiveWatchdog dog(settings(200ms, recorder, real_clock()));  // tick: 20 ms of real time
  auto before = dog.heartbeat();
  // It ticks on its own (every 20 ms; a loaded machine may delay the thread).
  EXPECT_TRUE(wait_until([&] { return dog.heartbeat() >= before + 3; }, 10000ms));
}

TEST(CollectiveWatchdog, AbortKeepsTheFirstReasonAndSkipsTheHandler) {
  ManualClock clock;
  Recorder recorder;
  CollectiveWatchdog dog(settings(10s, recorder, clock));
  auto watch = dog.watch(CollectiveDescription::named("barrier"), 1, true);
  EXPECT_FALSE(dog.aborted());
  EXPECT_EQ(dog.abort_reason(), "");
  dog.abort("SIGUSR1: preempted");
  dog.abort("second");
  EXPECT_TRUE(dog.aborted());
  EXPECT_EQ(dog.abort_reason(), "SIGUSR1: preempted");
  EXPECT_THROW(watch.check(), Error);
  EXPECT_EQ(recorder.calls.load(), 0);
}

TEST(CollectiveWatchdog, AWaiterBlocksUntilTheHandlerReturns) {
  // The thread fires and its handler is slow (the default one would be
  // exiting): a caller that notices meanwhile must not throw before it
  // returned.
  ManualClock clock;
  std::atomic<bool> handler_entered{false};
  std::atomic<bool> handler_done{false};
  WatchdogSettings s;
  s.backend = "mpi";
  s.label = "slow";
  s.timeout = 50ms;
  s.clock = &clock;
  s.on_timeout = [&](const StuckCollective&) {
    handler_entered = true;
    std::this_thread::sleep_for(300ms);  // stands for the slow handler; no assertion depends on its length
    handler_done = true;
  };
  CollectiveWatchdog dog(std::move(s));
  auto watch = dog.watch(CollectiveDescription::named("barrier"), 1, true);
  clock.advance(50ms);
  ASSERT_TRUE(wait_until([&] { return handler_entered.load(); }, 10000ms));  // the thread fires
  EXPECT_THROW(watch.check(), Error);
  EXPECT_TRUE(handler_done.load());
}

TEST(CollectiveWatchdog, DescribesWhatWasPending) {
  StuckCollective s;
  s.backend = "nccl";
  s.label = "train";
  s.rank = 1;
  s.size = 4;
  s.operation = "allreduce(bf16 x 8, max)";
  s.sequence = 42;
  s.since = std::chrono::system_clock::time_point(std::chrono::seconds(1748779200));  // 2025-06-01 12:00 UTC
  s.waited_seconds = 61.04;
  s.timeout_seconds = 60;
  EXPECT_EQ(s.describe(),
            "collective timeout: allreduce(bf16 x 8, max) #42 on communicator 'train' (nccl, rank 1 of 4) "
            "still pending after 61.0 s (waiting since 2025-06-01T12:00:00.000Z, timeout 60 s): a peer rank "
            "died, hangs, or called the collectives in a different order");
  EXPECT_EQ(CollectiveDescription::bytes("gather_bytes", 10, "bytes", 0).text(), "gather_bytes(10 bytes, root 0)");
  EXPECT_EQ(CollectiveDescription::bytes("allgather", 8, "bytes per rank").text(), "allgather(8 bytes per rank)");
  EXPECT_EQ(CollectiveDescription::named("barrier").text(), "barrier");
}

// ---- f16 / bf16 ----------------------------------------------------------------------------------

TEST(HalfFloat, KnownF16Values) {
  EXPECT_EQ(float_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_f16(0.0f), 0x0000);
  EXPECT_EQ(float_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_f16(65504.0f), 0x7bff);      // largest finite
  EXPECT_EQ(float_to_f16(65519.0f), 0x7bff);      // rounds down
  EXPECT_EQ(float_to_f16(65520.0f), 0x7c00);      // tie rounds to even: inf
  EXPECT_EQ(float_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(float_to_f16(0x1p-24f), 0x0001);      // smallest subnormal
  EXPECT_EQ(float_to_f16(0x1p-25f), 0x0000);      // tie: to even (zero)
  EXPECT_EQ(float_to_f16(0x1.8p-25f), 0x0001);
  EXPECT_EQ(float_to_f16(0x1p-14f), 0x0400);      // smallest normal
  EXPECT_EQ(float_to_f16(2049.0f), 0x6800);       // tie: to even (2048)
  EXPECT_EQ(float_to_f16(2051.0f), 0x6802);       // tie: to even (2052)
  EXPECT_EQ(float_to_f16(0.1f), 0x2e66);
  EXPECT_EQ(float_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  std::uint16_t nan = float_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  EXPECT_EQ(f16_to_float(0x3555), 0x1.554p-2f);
  EXPECT_EQ(f16_to_float(0x0001), 0x1p-24f);
  EXPECT_TRUE(std::isnan(f16_to_float(0x7e00)));
}

TEST(HalfFloat, EveryF16AndBf16RoundTrips) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    auto h = static_cast<std::uint16_t>(bits);
    float f = f16_to_float(h);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(f))));
    } else {
      ASSERT_EQ(float_to_f16(f), h) << std::hex << bits;
    }
    float g = bf16_to_float(h);
    if (std::isnan(g)) {
      EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(g))));
    } else {
      ASSERT_EQ(float_to_bf16(g), h) << std::hex << bits;
    }
  }
}

TEST(HalfFloat, F16RoundingMatchesAWideReference) {
  // Reference: the nearest f16 by search over all finite f16 values (ties to even).
  std::vector<float> finite;
  for (std::uint32_t bits = 0; bits < 0x7c00; ++bits) finite.push_back(f16_to_float(static_cast<std::uint16_t>(bits)));
  std::uint32_t seed = 12345;
  for (int n = 0; n < 20000; ++n) {
    seed = seed * 1664525u + 1013904223u;
    float x = std::ldexp(static_cast<float>(seed >> 8) / static_cast<float>(1 << 24), static_cast<int>(seed % 40) - 26);
    auto it = std::lower_bound(finite.begin(), finite.end(), x);
    if (it == finite.end()) continue;
    std::uint16_t hi = static_cast<std::uint16_t>(it - finite.begin());
    std::uint16_t expected = hi;
    if (hi > 0 && *it != x) {
      float up = *it, down = finite[hi - 1u];
      if (x - down < up - x || (x - down == up - x && ((hi - 1u) & 1u) == 0)) expected = static_cast<std::uint16_t>(hi - 1u);
    }
    ASSERT_EQ(float_to_f16(x), expected) << x;
  }
}

TEST(HalfFloat, KnownBf16Values) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3f80);        // tie: to even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);    // tie: to even (up)
  EXPECT_EQ(float_to_bf16(-3.0f), 0xc040);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds to inf
  std::uint16_t nan = float_to_bf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(bf16_to_float(nan)));
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
}

}  // namespace
}  // namespace lull::detail
