#pragma once
// NcclCommunicator — the "nccl" backend.
//
// allreduce, broadcast and allgather run on CUDA device buffers through a
// non-blocking NCCL communicator, on a stream the backend owns: each call
// enqueues, polls ncclCommGetAsyncError until NCCL is no longer in progress,
// then polls cudaStreamQuery (still checking NCCL's asynchronous error) until
// the result is in the buffer — all against the watchdog's deadline. On an
// error, a timeout or abort() the NCCL communicator is aborted
// (ncclCommAbort), so no rank stays stuck in a kernel.
// gather_bytes, barrier and start_allreduce are host operations and go
// through an MPI communicator over the same ranks, which also broadcasts the
// NCCL unique id.
// The device is the one current (cudaSetDevice) when the communicator is
// made; calls make it current for their duration and restore the caller's.
// Ordering: each device collective is ordered after the work already queued
// on the legacy default stream (an event recorded there); work the caller
// queued on its own streams must be complete (cudaStreamSynchronize) before
// the call. The result is in the buffer when the call returns.

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "../collective_watchdog.h"
#include "../mpi/mpi_communicator.h"
#include "cuda_stream.h"
#include "lull/collectives/communicator.h"
#include "nccl_comm.h"

namespace lull::detail {

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `comm` (borrowed). Throws Error(unsupported) on every
  // rank alike when any rank has no usable CUDA device.
  NcclCommunicator(MPI_Comm comm, const CommunicatorOptions& options);
  ~NcclCommunicator() override;  // local: ncclCommAbort on a live communicator (see NcclComm)

  int rank() const noexcept override { return host_->rank(); }
  int size() const noexcept override { return host_->size(); }
  std::string_view backend() const noexcept override { return "nccl"; }
  BufferSpace buffer_space() const noexcept override { return BufferSpace::cuda_device; }
  void abort(std::string_view reason) noexcept override;
  bool aborted() const noexcept override;
  std::string abort_reason() const override;

 private:
  void do_allreduce(void* data, std::size_t count, DType dtype, ReduceOp op) override;
  void do_broadcast(void* data, std::size_t bytes, int root) override;
  void do_allgather(const void* send, std::size_t bytes_per_rank, void* recv) override;
  std::vector<std::vector<std::byte>> do_gather_bytes(std::span<const std::byte> mine, int root) override;
  void do_barrier() override;
  PendingAllreduce do_start_allreduce(std::span<const std::int64_t> values, ReduceOp op) override;
  void do_close() override;

  CollectiveWatchdog::Watch begin(const CollectiveDescription& what);
  // Enqueues `call` on the stream and waits until its result is in place.
  void run_on_device(CollectiveWatchdog::Watch& watch, const char* name,
                     const std::function<ncclResult_t(ncclComm_t)>& call);
  // Runs a host operation; a failure of the host communicator aborts all.
  template <class F>
  decltype(auto) on_host(F&& f);
  void abort_all(const std::string& reason) noexcept;

  std::string label_;
  std::string subject_;
  std::function<void(const CollectiveCall&)> before_post_;
  std::uint64_t sequence_ = 0;
  int device_ = -1;
  CudaStream stream_;
  CudaEvent caller_work_done_;  // recorded on the legacy default stream before each collective
  NcclComm comm_;  // before host_ and watchdog_, whose threads may abort it
  std::unique_ptr<CollectiveWatchdog> watchdog_;
  std::unique_ptr<MpiCommunicator> host_;
};

}  // namespace lull::detail
