#pragma once
// TorchCommunicator — a lull::Communicator over a torch.distributed process
// group, for programs started without MPI (torchrun's environment: RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
//
// Every call goes through torch.distributed's Python API with the GIL taken,
// on host (CPU) tensors, so the group must be a gloo group (the Python layer
// makes one with torch.distributed.new_group(backend="gloo") beside the
// program's own). Collectives follow the Communicator contract: every rank,
// same order. Timeouts are gloo's (the group's `timeout`, 30 minutes by
// default): lull's watchdog is not used here.
//
// Lifetime: the Python objects it holds are released with the GIL taken; it
// must be destroyed before the interpreter ends (the Python Runtime owns it).

#include <pybind11/pybind11.h>

#include <atomic>
#include <mutex>
#include <string>

#include "lull/collectives/communicator.h"

namespace lull::python {

class TorchCommunicator final : public Communicator {
 public:
  // `group`: a gloo ProcessGroup (or None: the default group). GIL held.
  explicit TorchCommunicator(pybind11::object group);
  ~TorchCommunicator() override;

  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }
  std::string_view backend() const noexcept override { return "torch.distributed"; }
  BufferSpace buffer_space() const noexcept override { return BufferSpace::host; }
  void abort(std::string_view reason) noexcept override;
  bool aborted() const noexcept override { return aborted_.load(); }
  std::string abort_reason() const override;

 private:
  void do_allreduce(void* data, std::size_t count, DType dtype, ReduceOp op) override;
  void do_broadcast(void* data, std::size_t bytes, int root) override;
  void do_allgather(const void* send, std::size_t bytes_per_rank, void* recv) override;
  std::vector<std::vector<std::byte>> do_gather_bytes(std::span<const std::byte> mine, int root) override;
  void do_barrier() override;
  PendingAllreduce do_start_allreduce(std::span<const std::int64_t> values, ReduceOp op) override;
  void do_close() override {}

  void throw_if_aborted() const;

  pybind11::object dist_;   // the torch.distributed module
  pybind11::object torch_;  // the torch module
  pybind11::object group_;
  int rank_ = 0;
  int size_ = 1;
  std::atomic<bool> aborted_{false};
  mutable std::mutex reason_mutex_;
  std::string abort_reason_;
};

}  // namespace lull::python
