#include "mpi_channel.h"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "../progress_loop.h"
#include "lull/base/error.h"
#include "lull/base/log.h"
#include "lull/collectives/mpi_error.h"
#include "mpi_session.h"

namespace lull::detail {

namespace {

std::chrono::nanoseconds to_nanoseconds(double seconds) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
}

bool mpi_finalized() noexcept {
  int finalized = 1;
  return MPI_Finalized(&finalized) != MPI_SUCCESS || finalized != 0;
}

// Collectives still pending when their channel goes: MPI may write their
// buffers until the process ends, so they are kept for the process's life,
// reachable (LeakSanitizer does not report them), never freed. Never
// destroyed itself: static destructors run while MPI may still write.
struct OutlivingCollectives {
  std::mutex mutex;
  std::vector<std::pair<MPI_Request, std::shared_ptr<void>>> kept;
};

void keep_for_the_process(MPI_Request request, std::shared_ptr<void> keepalive) noexcept {
  try {
    static auto* const outliving = new OutlivingCollectives;
    const std::lock_guard lock(outliving->mutex);
    outliving->kept.emplace_back(request, std::move(keepalive));
  } catch (...) {  // out of memory: leak the buffer rather than free it under MPI
    new std::shared_ptr<void>(std::move(keepalive));
  }
}

}  // namespace

MpiChannel::MpiChannel(MPI_Comm user, const CommunicatorOptions& options, std::function<void()> abort_backend)
    : before_post_(options.before_post) {
  double timeout = options.effective_timeout_seconds();
  ensure_mpi_initialized();
  if (user == MPI_COMM_NULL) {
    throw Error(ErrorCode::invalid_argument, "cannot make a communicator over MPI_COMM_NULL", {}, {},
                "pass MPI_COMM_WORLD or a communicator this rank belongs to (MPI_Comm_split gives "
                "MPI_COMM_NULL to ranks with MPI_UNDEFINED as color)");
  }
  int inter = 0;
  check_mpi(MPI_Comm_test_inter(user, &inter), "MPI_Comm_test_inter", "the program's communicator");
  if (inter) {
    throw Error(ErrorCode::invalid_argument, "cannot make a communicator over an MPI inter-communicator", {},
                {}, "merge it first (MPI_Intercomm_merge)");
  }
  check_mpi(MPI_Comm_rank(user, &rank_), "MPI_Comm_rank", "the program's communicator");
  check_mpi(MPI_Comm_size(user, &size_), "MPI_Comm_size", "the program's communicator");
  subject_ = "communicator '" + options.label + "' (rank " + std::to_string(rank_) + " of " +
             std::to_string(size_) + ")";

  watchdog_ = std::make_unique<CollectiveWatchdog>(WatchdogSettings{
      "mpi", options.label, rank_, size_, to_nanoseconds(timeout), options.on_timeout, std::move(abort_backend)});
  half_ops_ = std::make_unique<HalfReduceOps>();

  // The duplicate is a collective too: non-blocking, timed like the others.
  auto watch = begin(CollectiveDescription::named("comm_dup"));
  MPI_Request request = MPI_REQUEST_NULL;
  MPI_Comm dup = MPI_COMM_NULL;
  // Errors here go to the program's error handler: the duplicate does not exist yet.
  check_mpi(MPI_Comm_idup(user, &dup, &request), "MPI_Comm_idup", subject_);
  progress_until(watch, [&] {
    int flag = 0;
    check_mpi(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test", subject_);
    return flag != 0;
  });
  comm_ = dup;
  try {
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    std::string name = "lull:" + options.label;
    check(MPI_Comm_set_name(comm_, name.c_str()), "MPI_Comm_set_name");
  } catch (...) {
    MPI_Comm_free(&comm_);
    throw;
  }
}

MpiChannel::~MpiChannel() {
  if (mpi_finalized()) return;  // nothing may touch MPI any more
  reap_abandoned();
  if (!abandoned_.empty()) {
    log::warn(subject_ + ": " + std::to_string(abandoned_.size()) +
              " collective(s) still pending at destruction; their buffers stay allocated");
    for (Abandoned& a : abandoned_) keep_for_the_process(a.request, std::move(a.keepalive));
  }
  if (comm_ != MPI_COMM_NULL && !watchdog_->aborted()) MPI_Comm_free(&comm_);
}

CollectiveWatchdog::Watch MpiChannel::begin(const CollectiveDescription& what) {
  watchdog_->throw_if_aborted();
  if (!abandoned_.empty()) reap_abandoned();
  auto watch = watchdog_->watch(what, ++sequence_, /*armed=*/true);
  if (before_post_) {
    before_post_(CollectiveCall{what.operation, sequence_, rank_});
    watch.check();  // a hang injected by the hook may have timed out meanwhile
  }
  return watch;
}

void MpiChannel::check(int rc, const char* call, SourceLocation where) {
  if (rc == MPI_SUCCESS) return;
  Error error = mpi_error(rc, call, subject_, where);
  abort(error.what());
  throw error;
}

void MpiChannel::wait(MPI_Request& request, CollectiveWatchdog::Watch& watch) {
  try {
    progress_until(watch, [&] {
      int flag = 0;
      check(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
      return flag != 0;
    });
  } catch (...) {
    // Timed out or aborted: MPI cannot cancel a collective. Keep the request
    // so the comm is not freed under it; the caller's buffer may still be
    // written until the process exits (see Communicator::abort).
    if (request != MPI_REQUEST_NULL) abandon(request, nullptr);
    request = MPI_REQUEST_NULL;
    throw;
  }
}

void MpiChannel::abandon(MPI_Request request, std::shared_ptr<void> keepalive) noexcept {
  try {
    abandoned_.push_back(Abandoned{request, std::move(keepalive)});
  } catch (...) {
    keep_for_the_process(request, std::move(keepalive));
  }
}

void MpiChannel::reap_abandoned() noexcept {
  if (watchdog_->aborted()) return;  // peers may be gone: do not poke at it
  std::erase_if(abandoned_, [](Abandoned& a) {
    int flag = 0;
    int rc = MPI_Test(&a.request, &flag, MPI_STATUS_IGNORE);
    return rc != MPI_SUCCESS || flag != 0;
  });
}

void MpiChannel::close() {
  watchdog_->throw_if_aborted();
  reap_abandoned();
  // MPI_Comm_free only marks the communicator; pending requests still complete.
  check(MPI_Comm_free(&comm_), "MPI_Comm_free");
  abort("the communicator was closed");
}

}  // namespace lull::detail
