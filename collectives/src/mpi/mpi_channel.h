#pragma once
// MpiChannel — lull's private duplicate of a program's MPI communicator,
// with the watchdog that times every collective on it.
//
// Shared (shared_ptr) by the MpiCommunicator and its pending allreduces, so
// a handle that outlives the communicator stays memory-safe. The program's
// communicator is borrowed: read (rank, size, MPI_Comm_idup) and never
// changed or freed. The duplicate is owned, set to MPI_ERRORS_RETURN, and
// named "lull:<label>".

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <utility>

#include "../collective_watchdog.h"
#include "lull/base/source_location.h"
#include "lull/collectives/communicator.h"
#include "mpi_reduction.h"

namespace lull::detail {

class MpiChannel {
 public:
  // Collective over `user`. `abort_backend` is run by the default timeout
  // handler before it exits (the NCCL backend passes its ncclCommAbort).
  MpiChannel(MPI_Comm user, const CommunicatorOptions& options, std::function<void()> abort_backend);
  // Local: frees the duplicate (MPI_Comm_free does not talk to peers) unless
  // it is aborted or MPI is finalized; requests still pending are left to MPI
  // and their buffers leaked on purpose, since MPI may still write them.
  ~MpiChannel();
  MpiChannel(const MpiChannel&) = delete;
  MpiChannel& operator=(const MpiChannel&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  MPI_Comm comm() const noexcept { return comm_; }
  CollectiveWatchdog& watchdog() noexcept { return *watchdog_; }
  const HalfReduceOps& half_ops() const noexcept { return *half_ops_; }
  // "communicator 'lull' (rank 0 of 2)", the subject of MPI errors.
  const std::string& subject() const noexcept { return subject_; }

  // Starts a collective: throws if aborted, completes what it can of the
  // abandoned requests, registers a Watch (clock running) and runs the
  // before_post hook.
  CollectiveWatchdog::Watch begin(const CollectiveDescription& what);

  // rc != MPI_SUCCESS: aborts the channel with the error and throws it.
  void check(int rc, const char* call, SourceLocation where = SourceLocation::current());

  // Waits for `request` (polling MPI_Test with the backoff, checking `watch`).
  void wait(MPI_Request& request, CollectiveWatchdog::Watch& watch);

  // Takes a request whose handle was dropped before it completed, and the
  // memory MPI may still write; completed during later begin()s.
  void abandon(MPI_Request request, std::shared_ptr<void> keepalive) noexcept;

  void abort(std::string reason) noexcept { watchdog_->abort(std::move(reason)); }

  // Collective: MPI_Comm_free now; the channel is then aborted ("closed").
  void close();

 private:
  struct Abandoned {
    MPI_Request request;
    std::shared_ptr<void> keepalive;
  };
  void reap_abandoned() noexcept;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = -1;
  int size_ = 0;
  std::string subject_;
  std::function<void(const CollectiveCall&)> before_post_;
  std::uint64_t sequence_ = 0;
  std::vector<Abandoned> abandoned_;
  std::unique_ptr<HalfReduceOps> half_ops_;
  std::unique_ptr<CollectiveWatchdog> watchdog_;
};

}  // namespace lull::detail
