// A program that never calls MPI itself: lull initializes MPI for it (asking
// for MPI_THREAD_MULTIPLE) and finalizes it at exit. Run under mpirun with 1
// and 2 ranks. main() registers its own atexit check before lull can
// register its finalizer; atexit runs in reverse order, so the check runs
// after lull's finalizer and fails the process if MPI was not finalized.

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "lull/collectives/communicator.h"

namespace lull {
namespace {

bool g_initialized_before_tests = true;

TEST(LullInitializesMpi, WhenTheProgramHasNot) {
  EXPECT_FALSE(g_initialized_before_tests);
  auto comm = make_communicator("mpi", MPI_COMM_WORLD);
  int initialized = 0;
  MPI_Initialized(&initialized);
  EXPECT_TRUE(initialized);
  int level = 0;
  MPI_Query_thread(&level);
  // MPI_THREAD_MULTIPLE was asked for; lull accepts less, but not nothing.
  EXPECT_GE(level, MPI_THREAD_SINGLE);
  std::printf("thread level granted: %d (MPI_THREAD_MULTIPLE = %d)\n", level, MPI_THREAD_MULTIPLE);
  std::int64_t one = 1;
  comm->allreduce(&one, 1, DType::i64, ReduceOp::sum);
  EXPECT_EQ(one, comm->size());
}

TEST(LullInitializesMpi, OnceAndKeepsItUntilExit) {
  { auto first = make_communicator("mpi", MPI_COMM_WORLD); first->barrier(); }
  int finalized = 0;
  MPI_Finalized(&finalized);
  EXPECT_FALSE(finalized) << "lull finalized MPI when its communicator went away";
  auto second = make_communicator("mpi", MPI_COMM_WORLD);  // no second MPI_Init
  auto third = make_communicator("mpi", MPI_COMM_WORLD);
  second->barrier();
  third->barrier();
}

}  // namespace
}  // namespace lull

namespace {
void require_finalized_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
    std::fprintf(stderr, "lull initialized MPI but did not finalize it at exit\n");
    std::fflush(stderr);
    std::_Exit(5);
  }
}
}  // namespace

int main(int argc, char** argv) {
  std::atexit(require_finalized_at_exit);  // before lull registers its finalizer
  int initialized = 0;
  MPI_Initialized(&initialized);
  lull::g_initialized_before_tests = initialized != 0;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
