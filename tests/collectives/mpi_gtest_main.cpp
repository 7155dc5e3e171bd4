// main() for the gtest binaries that run under mpirun with MPI initialized by
// the program itself (lull must then leave MPI's initialization and
// finalization alone: MPI_Finalize below fails if lull finalized it).
// Ranks other than 0 print only failures.

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

int main(int argc, char** argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) return 2;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) GTEST_FLAG_SET(brief, true);
  ::testing::InitGoogleTest(&argc, argv);
  int failed = RUN_ALL_TESTS();

  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) {
    std::fprintf(stderr, "rank %d: MPI was finalized behind the program's back\n", rank);
    return 3;
  }
  // Every rank's verdict, so that mpirun's exit code reflects all of them.
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (MPI_Finalize() != MPI_SUCCESS) return 4;
  return any_failed != 0 ? 1 : 0;
}
