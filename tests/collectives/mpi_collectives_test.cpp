// The results of the "mpi" backend's collectives under a real mpirun (1, 2
// and 4 ranks), with MPI initialized by the program (mpi_gtest_main.cpp):
// every op and dtype, sub-communicators, the non-blocking allreduce, local
// argument checks and the MPI error mapper. Timeouts and aborts are in
// mpi_timeouts_test.cpp. Every test runs on every rank, in the same order,
// and makes the same collective calls.

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "lull/base/error.h"
#include "lull/collectives/communicator.h"
#include "lull/collectives/mpi_error.h"
#include "mpi_test_world.h"
#include "typed_buffer.h"

namespace lull::test {
namespace {

using Clock = std::chrono::steady_clock;

double reduce_expected(DType dtype, ReduceOp op, int size, std::size_t i) {
  double acc = test::input_value(dtype, 0, i);
  for (int r = 1; r < size; ++r) {
    double v = test::input_value(dtype, r, i);
    switch (op) {
      case ReduceOp::sum: acc = dtype == DType::boolean ? std::max(acc, v) : acc + v; break;
      case ReduceOp::max: acc = std::max(acc, v); break;
      case ReduceOp::min: acc = std::min(acc, v); break;
    }
  }
  return acc;
}

TEST(MpiCommunicator, ReportsRankSizeAndBackend) {
  auto comm = world();
  EXPECT_EQ(comm->rank(), world_rank());
  EXPECT_EQ(comm->size(), world_size());
  EXPECT_EQ(comm->backend(), "mpi");
  EXPECT_EQ(comm->buffer_space(), BufferSpace::host);
  EXPECT_FALSE(comm->aborted());
  EXPECT_EQ(comm->abort_reason(), "");
}

TEST(MpiCommunicator, AllreduceEveryDtypeAndOp) {
  auto comm = world();
  for (DType dtype : kAllDTypes) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::min}) {
      for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{1037}}) {
        std::vector<double> mine(count);
        for (std::size_t i = 0; i < count; ++i) mine[i] = test::input_value(dtype, comm->rank(), i);
        std::vector<std::byte> buffer = test::encode(dtype, mine);
        comm->allreduce(buffer.data(), count, dtype, op);
        std::vector<double> got = test::decode(dtype, buffer);
        ASSERT_EQ(got.size(), count);
        for (std::size_t i = 0; i < count; ++i) {
          ASSERT_EQ(got[i], reduce_expected(dtype, op, comm->size(), i))
              << dtype_name(dtype) << " " << reduce_op_name(op) << " element " << i;
        }
      }
    }
  }
}

TEST(MpiCommunicator, HalfSumRoundsToNearestEven) {
  // 2048 + 1 per other rank: in f16 (11 bits) 2049 is a tie and rounds to
  // 2048, so a sum of 2048 and 1s stays 2048 whatever the order.
  auto comm = world();
  std::vector<double> mine = {comm->rank() == 0 ? 2048.0 : 1.0};
  std::vector<std::byte> buffer = test::encode(DType::f16, mine);
  comm->allreduce(buffer.data(), 1, DType::f16, ReduceOp::sum);
  double got = test::decode(DType::f16, buffer).at(0);
  if (comm->size() <= 2) {
    EXPECT_EQ(got, 2048.0);
  } else {
    EXPECT_GE(got, 2048.0);  // the order of the pairwise sums decides
    EXPECT_LE(got, 2052.0);
  }
}

TEST(MpiCommunicator, BroadcastFromEveryRoot) {
  auto comm = world();
  for (int root = 0; root < comm->size(); ++root) {
    std::vector<std::uint8_t> data(4099);
    for (std::size_t i = 0; i < data.size(); ++i) {
      data[i] = comm->rank() == root ? static_cast<std::uint8_t>(i * 7 + static_cast<std::size_t>(root)) : 0;
    }
    comm->broadcast(data.data(), data.size(), root);
    for (std::size_t i = 0; i < data.size(); ++i) {
      ASSERT_EQ(data[i], static_cast<std::uint8_t>(i * 7 + static_cast<std::size_t>(root))) << "root " << root;
    }
    comm->broadcast(nullptr, 0, root);  // nothing to send is fine
  }
  EXPECT_THROW(comm->broadcast(nullptr, 0, comm->size()), Error);  // local check, before any traffic
}

TEST(MpiCommunicator, AllgatherFixedBytesAndInPlace) {
  auto comm = world();
  const std::size_t per_rank = 13;
  const auto size = static_cast<std::size_t>(comm->size());
  const auto rank = static_cast<std::size_t>(comm->rank());
  std::vector<std::uint8_t> mine(per_rank);
  for (std::size_t i = 0; i < per_rank; ++i) mine[i] = static_cast<std::uint8_t>(rank * 50 + i);
  std::vector<std::uint8_t> all(per_rank * size, 0xee);
  comm->allgather(mine.data(), per_rank, all.data());
  for (std::size_t r = 0; r < size; ++r) {
    for (std::size_t i = 0; i < per_rank; ++i) ASSERT_EQ(all[r * per_rank + i], r * 50 + i);
  }
  // In place: this rank's block already sits at its place in the output.
  std::vector<std::uint8_t> in_place(per_rank * size, 0xee);
  std::copy(mine.begin(), mine.end(), in_place.begin() + static_cast<std::ptrdiff_t>(rank * per_rank));
  comm->allgather(in_place.data() + rank * per_rank, per_rank, in_place.data());
  EXPECT_EQ(in_place, all);
}

TEST(MpiCommunicator, GatherVariableSizeBytesToEveryRoot) {
  auto comm = world();
  auto payload = [](int rank) {
    // Rank 0 sends nothing, rank r sends r * 1000 + 7 bytes (a ShardReport's JSON is a few KB).
    std::vector<std::byte> bytes(rank == 0 ? 0 : static_cast<std::size_t>(rank) * 1000 + 7);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>((i + static_cast<std::size_t>(rank)) % 251);
    return bytes;
  };
  for (int root = 0; root < comm->size(); ++root) {
    std::vector<std::byte> mine = payload(comm->rank());
    auto all = comm->gather_bytes(mine, root);
    if (comm->rank() == root) {
      ASSERT_EQ(all.size(), static_cast<std::size_t>(comm->size()));
      for (int r = 0; r < comm->size(); ++r) EXPECT_EQ(all[static_cast<std::size_t>(r)], payload(r)) << "from rank " << r;
    } else {
      EXPECT_TRUE(all.empty());
    }
  }
  // JSON text, the intended use.
  std::string json = "{\"rank\": " + std::to_string(comm->rank()) + ", \"ok\": true}";
  auto reports = comm->gather_bytes(std::as_bytes(std::span(json)), 0);
  if (comm->rank() == 0) {
    for (int r = 0; r < comm->size(); ++r) {
      const auto& b = reports[static_cast<std::size_t>(r)];
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), b.size()),
                "{\"rank\": " + std::to_string(r) + ", \"ok\": true}");
    }
  }
}

TEST(MpiCommunicator, BarrierWaitsForTheLastRank) {
  auto comm = world();
  comm->barrier();
  if (comm->rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the last one in
  const auto entered = Clock::now();
  comm->barrier();
  const auto left = Clock::now();
  // No rank leaves before the last one entered. The ranks of this test share
  // one node, so steady_clock (CLOCK_MONOTONIC) is one clock for all of them;
  // comparing moments, not durations, needs no slack for a loaded machine.
  std::int64_t last_entered = entered.time_since_epoch().count();
  ASSERT_EQ(MPI_Allreduce(MPI_IN_PLACE, &last_entered, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD), MPI_SUCCESS);
  EXPECT_GE(left.time_since_epoch().count(), last_entered);
}

TEST(MpiCommunicator, WorksOnASplitSubCommunicator) {
  // Odd and even world ranks form two communicators; lull gets one of them.
  MPI_Comm sub = MPI_COMM_NULL;
  ASSERT_EQ(MPI_Comm_split(MPI_COMM_WORLD, world_rank() % 2, world_rank(), &sub), MPI_SUCCESS);
  {
    auto comm = make_communicator("mpi", sub, test_options("sub"));
    int sub_rank = 0, sub_size = 0;
    MPI_Comm_rank(sub, &sub_rank);
    MPI_Comm_size(sub, &sub_size);
    EXPECT_EQ(comm->rank(), sub_rank);
    EXPECT_EQ(comm->size(), sub_size);
    std::int64_t value = world_rank();
    comm->allreduce(&value, 1, DType::i64, ReduceOp::sum);
    std::int64_t expected = 0;
    for (int r = world_rank() % 2; r < world_size(); r += 2) expected += r;
    EXPECT_EQ(value, expected);
    auto vote = comm->start_allreduce(std::array<std::int64_t, 1>{world_rank()}, ReduceOp::max);
    EXPECT_EQ(vote.wait()[0], world_size() - 1 - ((world_size() - 1 - world_rank() % 2) % 2));
  }
  // The program's communicator is untouched: still usable, freed by the program.
  int sum = 0, one = 1;
  EXPECT_EQ(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, sub), MPI_SUCCESS);
  EXPECT_EQ(MPI_Comm_free(&sub), MPI_SUCCESS);
}

TEST(MpiCommunicator, RanksOutsideASplitGetAClearError) {
  MPI_Comm sub = MPI_COMM_NULL;
  int color = world_rank() == 0 ? MPI_UNDEFINED : 1;
  ASSERT_EQ(MPI_Comm_split(MPI_COMM_WORLD, color, 0, &sub), MPI_SUCCESS);
  if (sub == MPI_COMM_NULL) {
    try {
      make_communicator("mpi", sub, test_options());
      ADD_FAILURE() << "no error for MPI_COMM_NULL";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("MPI_COMM_NULL"), std::string::npos) << e.what();
    }
  } else {
    auto comm = make_communicator("mpi", sub, test_options());
    comm->barrier();
    MPI_Comm_free(&sub);
  }
}

TEST(MpiCommunicator, TrafficNeverMatchesTheProgramsMessages) {
  // A wildcard receive posted by the program on the same communicator must
  // not catch anything lull sends: lull talks on its own duplicate.
  MPI_Request program_recv = MPI_REQUEST_NULL;
  std::array<char, 1 << 16> sink{};
  ASSERT_EQ(MPI_Irecv(sink.data(), static_cast<int>(sink.size()), MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG,
                      MPI_COMM_WORLD, &program_recv),
            MPI_SUCCESS);
  {
    auto comm = world();
    std::vector<double> v(100, 1.0);
    comm->allreduce(v.data(), v.size(), DType::f64, ReduceOp::sum);
    comm->broadcast(v.data(), v.size() * sizeof(double), 0);
    std::string mine = "x";
    comm->gather_bytes(std::as_bytes(std::span(mine)), 0);
    comm->barrier();
  }
  int flag = 0;
  MPI_Test(&program_recv, &flag, MPI_STATUS_IGNORE);
  EXPECT_EQ(flag, 0) << "the program's receive matched lull's traffic";
  MPI_Cancel(&program_recv);
  MPI_Wait(&program_recv, MPI_STATUS_IGNORE);
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(MpiCommunicator, NonBlockingAllreduceOverlapsWork) {
  auto comm = world();
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::min}) {
    std::array<std::int64_t, 3> values = {comm->rank(), -comm->rank(), 1000 + comm->rank()};
    PendingAllreduce vote = comm->start_allreduce(values, op);
    values.fill(-1);  // the values were copied: the caller's array may change at once
    ASSERT_TRUE(vote.valid());
    int polls = 0;
    while (!vote.test()) {  // "the next step": work between polls
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ++polls;
      ASSERT_LT(polls, 50000);
    }
    EXPECT_TRUE(vote.done());
    auto got = vote.values();
    ASSERT_EQ(got.size(), 3u);
    const std::int64_t n = comm->size();
    switch (op) {
      case ReduceOp::sum:
        EXPECT_EQ(got[0], n * (n - 1) / 2);
        EXPECT_EQ(got[1], -n * (n - 1) / 2);
        EXPECT_EQ(got[2], 1000 * n + n * (n - 1) / 2);
        break;
      case ReduceOp::max:
        EXPECT_EQ(got[0], n - 1);
        EXPECT_EQ(got[1], 0);
        EXPECT_EQ(got[2], 1000 + n - 1);
        break;
      case ReduceOp::min:
        EXPECT_EQ(got[0], 0);
        EXPECT_EQ(got[1], -(n - 1));
        EXPECT_EQ(got[2], 1000);
        break;
    }
    EXPECT_TRUE(vote.test());  // stays done
    EXPECT_EQ(vote.wait()[0], got[0]);
  }
}

TEST(MpiCommunicator, SeveralPendingAllreducesAndBlockingCallsInterleave) {
  auto comm = world();
  std::vector<PendingAllreduce> votes;
  for (std::int64_t k = 0; k < 5; ++k) {
    votes.push_back(comm->start_allreduce(std::array<std::int64_t, 1>{k * 10 + comm->rank()}, ReduceOp::max));
    if (k == 2) {
      std::int32_t x = 1;
      comm->allreduce(&x, 1, DType::i32, ReduceOp::sum);  // a blocking one while three are pending
      EXPECT_EQ(x, comm->size());
    }
  }
  for (std::size_t k = votes.size(); k-- > 0;) {  // waited for in reverse
    EXPECT_EQ(votes[k].wait()[0], static_cast<std::int64_t>(k) * 10 + comm->size() - 1);
  }
}

TEST(MpiCommunicator, DroppingAPendingHandleNeitherBlocksNorBreaksLaterCalls) {
  auto comm = world();
  for (int i = 0; i < 20; ++i) {
    auto dropped = comm->start_allreduce(std::array<std::int64_t, 2>{i, comm->rank()}, ReduceOp::sum);
  }  // each handle dies at once; the communicator completes them later
  std::int64_t x = 2;
  comm->allreduce(&x, 1, DType::i64, ReduceOp::sum);
  EXPECT_EQ(x, 2 * comm->size());
  PendingAllreduce moved = comm->start_allreduce(std::array<std::int64_t, 1>{1}, ReduceOp::sum);
  PendingAllreduce target = std::move(moved);
  EXPECT_FALSE(moved.valid());
  EXPECT_EQ(target.wait()[0], comm->size());
}

TEST(MpiCommunicator, WaitOnATemporaryHandleGivesValuesThatOutliveIt) {
  auto comm = world();
  // The handle ends with the statement; its values must not (under ASan a
  // span into the freed handle is a heap-use-after-free at the reads below).
  const auto reduced = comm->start_allreduce(std::array<std::int64_t, 2>{comm->rank(), -comm->rank()}, ReduceOp::max)
                           .wait();
  static_assert(std::is_same_v<decltype(reduced), const std::vector<std::int64_t>>);
  std::int64_t x = 1;
  comm->allreduce(&x, 1, DType::i64, ReduceOp::sum);  // reuses what the communicator freed
  ASSERT_EQ(reduced.size(), 2u);
  EXPECT_EQ(reduced[0], comm->size() - 1);
  EXPECT_EQ(reduced[1], 0);
}

TEST(MpiCommunicator, RejectsBadArgumentsLocally) {
  auto comm = world();
  std::vector<std::int64_t> none;
  std::vector<std::int64_t> too_many(kMaxAgreementValues + 1, 0);
  EXPECT_THROW(comm->start_allreduce(none, ReduceOp::sum), Error);
  EXPECT_THROW(comm->start_allreduce(too_many, ReduceOp::sum), Error);
  EXPECT_THROW(comm->allreduce(nullptr, 3, DType::f32, ReduceOp::sum), Error);
  EXPECT_THROW(comm->gather_bytes({}, -1), Error);
  PendingAllreduce empty;
  EXPECT_THROW(empty.test(), Error);
  comm->barrier();  // still fine: nothing was sent
}

TEST(MpiCommunicator, LeavesTheProgramsMpiAlone) {
  { auto comm = world(); comm->barrier(); }
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  EXPECT_TRUE(initialized);
  EXPECT_FALSE(finalized);  // main() finalizes, and fails if lull did
}

TEST(Backends, TableListsMpiAndRejectsUnknownNames) {
  auto names = communicator_backends();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "mpi");
  try {
    make_communicator("carrier-pigeon", MPI_COMM_WORLD);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(e.hint().find("mpi"), std::string::npos) << e.what();
  }
}

TEST(MpiError, MapsClassesMessagesAndHints) {
  Error count = mpi_error(MPI_ERR_COUNT, "MPI_Iallreduce", "communicator 'x'");
  EXPECT_EQ(count.code(), ErrorCode::invalid_argument);
  EXPECT_EQ(count.call(), "MPI_Iallreduce");
  EXPECT_FALSE(count.detail().empty());
  EXPECT_NE(std::string(count.what()).find("mpi_collectives_test.cpp:"), std::string::npos) << count.what();
  Error other = mpi_error(MPI_ERR_OTHER, "MPI_Test", "communicator 'x'");
  EXPECT_EQ(other.code(), ErrorCode::io);
  EXPECT_NE(other.hint().find("peer"), std::string::npos);
  EXPECT_NO_THROW(check_mpi(MPI_SUCCESS, "MPI_Barrier", "x"));
  EXPECT_THROW(check_mpi(MPI_ERR_ROOT, "MPI_Ibcast", "x"), Error);
}

}  // namespace
}  // namespace lull::test
