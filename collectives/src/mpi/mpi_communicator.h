#pragma once
// MpiCommunicator — the "mpi" backend: host buffers, non-blocking MPI
// collectives on lull's own duplicate of the program's communicator, each
// waited for in the progress loop under the watchdog.

#include <mpi.h>

#include <functional>
#include <memory>

#include "lull/collectives/communicator.h"

namespace lull::detail {

class MpiChannel;

class MpiCommunicator final : public Communicator {
 public:
  // Collective over `comm` (borrowed). `abort_backend`: see MpiChannel.
  MpiCommunicator(MPI_Comm comm, const CommunicatorOptions& options, std::function<void()> abort_backend = {});
  ~MpiCommunicator() override;

  int rank() const noexcept override;
  int size() const noexcept override;
  std::string_view backend() const noexcept override { return "mpi"; }
  BufferSpace buffer_space() const noexcept override { return BufferSpace::host; }
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

  std::shared_ptr<MpiChannel> channel_;
};

// The pending-allreduce operation of the MPI backend (mpi_agreement.cpp).
std::unique_ptr<PendingAllreduce::Operation> start_mpi_allreduce(std::shared_ptr<MpiChannel> channel,
                                                                 std::span<const std::int64_t> values,
                                                                 ReduceOp op);

}  // namespace lull::detail
