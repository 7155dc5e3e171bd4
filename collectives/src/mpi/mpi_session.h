#pragma once
// Who owns MPI initialization in this process.
//
// lull initializes MPI only when the program has not, asking for
// MPI_THREAD_MULTIPLE and accepting whatever level is granted (lull calls MPI
// only from the threads that call a Communicator; its own threads never do).
// What lull initialized, it finalizes at normal process exit (std::atexit);
// what the program initialized, it leaves alone.

namespace lull::detail {

struct MpiSession {
  bool initialized_by_lull = false;  // this call or an earlier one initialized MPI
  int thread_level = 0;              // MPI_Query_thread
};

// Thread-safe. Throws lull::Error if MPI was already finalized or
// MPI_Init_thread fails.
MpiSession ensure_mpi_initialized();

}  // namespace lull::detail
