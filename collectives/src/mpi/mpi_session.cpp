#include "mpi_session.h"

#include <mpi.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/collectives/mpi_error.h"

namespace lull::detail {

namespace {

// MPI's initialization is process-wide state; this mirrors the one fact MPI
// cannot tell us afterwards: whether lull was the one who initialized it.
std::atomic<bool>& lull_initialized_mpi() {
  static std::atomic<bool> flag{false};
  return flag;
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
    default: return "unknown";
  }
}

// At normal exit, after main returned: finalize what lull initialized, unless
// the program (against the contract) finalized it itself. Never reached on
// the watchdog's _Exit, where MPI_Finalize could hang on a dead peer.
void finalize_at_exit() {
  int finalized = 0;
  if (MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Finalize();
}

}  // namespace

MpiSession ensure_mpi_initialized() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);

  int finalized = 0;
  check_mpi(MPI_Finalized(&finalized), "MPI_Finalized", "the MPI library");
  if (finalized) {
    throw Error(ErrorCode::invalid_argument, "MPI was already finalized: lull cannot use it any more", {}, {},
                "create lull's communicators before MPI_Finalize");
  }
  int initialized = 0;
  check_mpi(MPI_Initialized(&initialized), "MPI_Initialized", "the MPI library");
  MpiSession session;
  if (!initialized) {
    int provided = MPI_THREAD_SINGLE;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread",
              "the MPI library");
    lull_initialized_mpi().store(true);
    std::atexit(finalize_at_exit);
    log::debug(std::string("lull initialized MPI (thread level ") + thread_level_name(provided) +
               "); it will finalize it at exit");
  }
  session.initialized_by_lull = lull_initialized_mpi().load();
  check_mpi(MPI_Query_thread(&session.thread_level), "MPI_Query_thread", "the MPI library");
  return session;
}

}  // namespace lull::detail
