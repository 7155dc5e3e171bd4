// The "mpi" backend when something goes wrong, under a real mpirun (1, 2 and
// 4 ranks, MPI initialized by the program): aborts, close, collectives stuck
// past their timeout (caught through the on_timeout hook), and where the
// timeout comes from. A test that needs a peer rank that never joins skips
// at 1 rank, saying so. Every test runs on every rank, in the same order.

#include <gtest/gtest.h>
#include <mpi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lull/base/error.h"
#include "lull/collectives/communicator.h"
#include "mpi_test_world.h"

namespace lull::test {
namespace {

using Clock = std::chrono::steady_clock;

TEST(MpiCommunicator, AbortIsLocalAndKeepsTheFirstReason) {
  auto comm = world();
  comm->abort("preempted by the arbiter");
  comm->abort("a later reason");
  EXPECT_TRUE(comm->aborted());
  EXPECT_EQ(comm->abort_reason(), "preempted by the arbiter");
  try {
    comm->barrier();
    ADD_FAILURE() << "a collective on an aborted communicator returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("preempted by the arbiter"), std::string::npos) << e.what();
  }
}

TEST(MpiCommunicator, CloseIsCollectiveAndFinal) {
  auto comm = world();
  comm->close();
  EXPECT_TRUE(comm->aborted());
  EXPECT_THROW(comm->barrier(), Error);
}

// Catch mode: with an on_timeout hook the stuck call throws instead of exiting.
// The last rank injects a hang into its 3rd collective (an allreduce): it is
// stuck inside the collective (its own watchdog thread notices), the other
// ranks wait for it in the polling loop (their deadline notices).
TEST(MpiCommunicator, TimeoutWithAHookThrowsInsteadOfExiting) {
  std::mutex mutex;
  std::condition_variable fired_cv;
  std::vector<StuckCollective> reports;
  const int hanging_rank = world_size() - 1;

  CommunicatorOptions options = test_options("hang");
  options.timeout_seconds = 1.0;
  options.on_timeout = [&](const StuckCollective& stuck) {
    std::lock_guard lock(mutex);
    reports.push_back(stuck);
    fired_cv.notify_all();
  };
  options.before_post = [&](const CollectiveCall& call) {
    if (world_rank() == hanging_rank && call.operation == "allreduce" && call.sequence == 3) {
      std::unique_lock lock(mutex);  // "hang" until this rank's own watchdog fired
      fired_cv.wait_for(lock, std::chrono::seconds(20), [&] { return !reports.empty(); });
    }
  };
  auto comm = make_communicator("mpi", MPI_COMM_WORLD, options);  // #1: comm_dup
  std::int32_t x = 1;
  comm->allreduce(&x, 1, DType::i32, ReduceOp::sum);  // #2: fine
  auto start = Clock::now();
  try {
    std::array<std::int32_t, 4> v{};
    comm->allreduce(v.data(), v.size(), DType::i32, ReduceOp::sum);  // #3: stuck
    ADD_FAILURE() << "the stuck allreduce returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("collective timeout: allreduce(i32 x 4, sum) #3"), std::string::npos)
        << e.what();
  }
  double waited = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GE(waited, 0.9);
  EXPECT_LT(waited, 8.0);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(reports.size(), 1u) << "the handler runs once per communicator";
    const StuckCollective& stuck = reports[0];
    EXPECT_EQ(stuck.operation, "allreduce(i32 x 4, sum)");
    EXPECT_EQ(stuck.sequence, 3u);
    EXPECT_EQ(stuck.rank, world_rank());
    EXPECT_EQ(stuck.size, world_size());
    EXPECT_EQ(stuck.backend, "mpi");
    EXPECT_EQ(stuck.label, "hang");
    EXPECT_GE(stuck.waited_seconds, 1.0);
    EXPECT_DOUBLE_EQ(stuck.timeout_seconds, 1.0);
    std::string line = stuck.describe();
    EXPECT_NE(line.find("rank " + std::to_string(world_rank()) + " of " + std::to_string(world_size())),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("waiting since 20"), std::string::npos) << line;
  }
  EXPECT_TRUE(comm->aborted());
  EXPECT_THROW(comm->barrier(), Error);  // and so is everything after
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(MpiCommunicator, PendingAllreduceTimesOutFromItsFirstPoll) {
  // Only rank 0 starts the vote (the others "died"): its clock starts at the
  // first test(), and test() keeps failing until the timeout, then throws.
  if (world_size() < 2) {
    GTEST_SKIP() << "needs a rank that never joins the vote; alone, rank 0's vote completes at once";
  }
  std::atomic<int> fired{0};
  CommunicatorOptions options = test_options("vote");
  options.timeout_seconds = 0.5;
  options.on_timeout = [&](const StuckCollective&) { ++fired; };
  auto comm = make_communicator("mpi", MPI_COMM_WORLD, options);
  if (comm->rank() == 0) {
    PendingAllreduce vote = comm->start_allreduce(std::array<std::int64_t, 1>{1}, ReduceOp::max);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // computing is not waiting
    auto start = Clock::now();
    EXPECT_FALSE(vote.test());
    bool threw = false;
    while (Clock::now() - start < std::chrono::seconds(5)) {
      try {
        if (vote.test()) break;
      } catch (const Error& e) {
        threw = true;
        EXPECT_NE(std::string(e.what()).find("start_allreduce(i64 x 1, max)"), std::string::npos) << e.what();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(threw);
    EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(450));
    EXPECT_EQ(fired.load(), 1);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(MpiCommunicator, AbortFromAnotherThreadEndsABlockedCollective) {
  // Rank 0 alone enters a barrier nobody else will; another thread aborts it
  // (what the runtime does on a preemption notice).
  if (world_size() < 2) {
    GTEST_SKIP() << "needs a rank that stays out of the barrier; alone, rank 0's barrier returns at once";
  }
  auto comm = world("abort");
  if (comm->rank() == 0) {
    std::thread aborter([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      comm->abort("notice: preempted");
    });
    auto start = Clock::now();
    EXPECT_THROW(comm->barrier(), Error);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(10)) << "the abort did not end the barrier";
    aborter.join();
    EXPECT_EQ(comm->abort_reason(), "notice: preempted");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(CommunicatorOptions, TimeoutFromOptionEnvironmentOrDefault) {
  CommunicatorOptions options;
  unsetenv(kCollectiveTimeoutEnv);
  EXPECT_DOUBLE_EQ(options.effective_timeout_seconds(), kDefaultCollectiveTimeoutSeconds);
  EXPECT_EQ(collective_timeout_from_environment(), std::nullopt);
  setenv(kCollectiveTimeoutEnv, "2.5", 1);
  EXPECT_DOUBLE_EQ(options.effective_timeout_seconds(), 2.5);
  EXPECT_EQ(collective_timeout_from_environment(), 2.5);
  options.timeout_seconds = 7;
  EXPECT_DOUBLE_EQ(options.effective_timeout_seconds(), 7);
  options.timeout_seconds.reset();
  for (const char* bad : {"abc", "0", "-3", "5s", "nan"}) {
    setenv(kCollectiveTimeoutEnv, bad, 1);
    try {
      (void)options.effective_timeout_seconds();
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(kCollectiveTimeoutEnv), std::string::npos);
    }
  }
  unsetenv(kCollectiveTimeoutEnv);
  options.timeout_seconds = 0;
  EXPECT_THROW((void)options.effective_timeout_seconds(), Error);
}

}  // namespace
}  // namespace lull::test
