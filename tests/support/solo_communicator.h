#pragma once
// SoloCommunicator — a lull::Communicator of one rank, in process, without
// MPI: every collective's result over a single rank is this rank's own data,
// so each returns at once. For in-process tests of the runtime's parts (the
// per-step agreement, a Runtime over one rank); what several ranks do
// together is tested under real mpirun.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lull/base/error.h"
#include "lull/collectives/communicator.h"

namespace lull::test {

class SoloCommunicator final : public Communicator {
 public:
  int rank() const noexcept override { return 0; }
  int size() const noexcept override { return 1; }
  std::string_view backend() const noexcept override { return "solo"; }
  BufferSpace buffer_space() const noexcept override { return BufferSpace::host; }

  void abort(std::string_view reason) noexcept override {
    std::lock_guard lock(mutex_);
    if (!aborted_) reason_.assign(reason);
    aborted_ = true;
  }
  bool aborted() const noexcept override {
    std::lock_guard lock(mutex_);
    return aborted_;
  }
  std::string abort_reason() const override {
    std::lock_guard lock(mutex_);
    return reason_;
  }

 private:
  // The result of a one-rank allreduce: the values given.
  class Completed final : public PendingAllreduce::Operation {
   public:
    explicit Completed(std::span<const std::int64_t> values) : values_(values.begin(), values.end()) {}
    bool test() override { return true; }
    void wait() override {}
    std::span<const std::int64_t> values() const noexcept override { return values_; }

   private:
    std::vector<std::int64_t> values_;
  };

  void usable() const {
    if (aborted()) throw Error(ErrorCode::io, "solo communicator is aborted: " + abort_reason());
  }

  void do_allreduce(void*, std::size_t, DType, ReduceOp) override { usable(); }
  void do_broadcast(void*, std::size_t, int) override { usable(); }
  void do_allgather(const void* send, std::size_t bytes_per_rank, void* recv) override {
    usable();
    if (send != recv && bytes_per_rank > 0) std::memmove(recv, send, bytes_per_rank);
  }
  std::vector<std::vector<std::byte>> do_gather_bytes(std::span<const std::byte> mine, int) override {
    usable();
    return {std::vector<std::byte>(mine.begin(), mine.end())};
  }
  void do_barrier() override { usable(); }
  PendingAllreduce do_start_allreduce(std::span<const std::int64_t> values, ReduceOp) override {
    usable();
    return PendingAllreduce(std::make_unique<Completed>(values));
  }
  void do_close() override { abort("closed"); }

  mutable std::mutex mutex_;
  bool aborted_ = false;
  std::string reason_;
};

}  // namespace lull::test
