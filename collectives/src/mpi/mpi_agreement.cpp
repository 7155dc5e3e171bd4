// The MPI backend's start_allreduce(): a few int64 values reduced without
// blocking, polled by test() and waited for by wait().
//
// Why not one MPI_Iallreduce: MPI moves a non-blocking collective on only
// inside MPI calls, and Open MPI's algorithm for small messages (libnbc's
// binomial reduce, then broadcast) needs the root to make an MPI call AFTER
// the other ranks' values arrived before they can complete. In a program
// whose step communicates through something else (NCCL, gloo, shared
// memory), the ranks call MPI only in end_step(), so the vote cast at step k
// often could not complete at step k + 1 without waiting for the slowest
// rank to reach its next end_step(): measured with a 10 ms step whose
// gradients go through gloo, end_step() took a 3.5 ms p90 on rank 1.
//
// So up to kExchangeRanks ranks every rank sends its values to every other
// (P - 1 eager messages of <= 128 bytes) and reduces what it receives: one
// round, and a rank's vote completes as soon as every other rank has
// STARTED it, with no further progress needed from them. Larger
// communicators use MPI_Iallreduce (P - 1 messages per rank would cost more
// than the waiting they save).

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "../progress_loop.h"
#include "mpi_channel.h"
#include "mpi_communicator.h"

namespace lull::detail {

namespace {

// Above this many ranks, one MPI_Iallreduce.
constexpr int kExchangeRanks = 32;
// Point-to-point tag of the votes on lull's private duplicate communicator
// (its collectives never match point-to-point messages; votes between two
// ranks match in the order they were started, which every rank shares).
constexpr int kVoteTag = 7501;

// What MPI writes into; it must stay put while requests are pending, even
// after the handle is gone (then the channel keeps it).
struct AgreementBuffer {
  std::size_t count = 0;
  std::array<std::int64_t, kMaxAgreementValues> values{};  // mine, then the result
  std::vector<std::int64_t> received;                      // (size - 1) * count, exchange only
  std::vector<MPI_Request> requests;
};

std::int64_t combine(std::int64_t a, std::int64_t b, ReduceOp op) {
  switch (op) {
    // Two's complement wrap-around, as MPI_SUM on int64 (without signed overflow).
    case ReduceOp::sum: return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
    case ReduceOp::max: return std::max(a, b);
    case ReduceOp::min: return std::min(a, b);
  }
  return a;
}

class MpiPendingAllreduce final : public PendingAllreduce::Operation {
 public:
  MpiPendingAllreduce(std::shared_ptr<MpiChannel> channel, std::span<const std::int64_t> values, ReduceOp op)
      : channel_(std::move(channel)), buffer_(std::make_shared<AgreementBuffer>()), op_(op) {
    std::copy(values.begin(), values.end(), buffer_->values.begin());
    buffer_->count = values.size();
    watch_ = channel_->begin(CollectiveDescription::reduction("start_allreduce", DType::i64, op, values.size()));
    if (channel_->size() <= kExchangeRanks) {
      start_exchange();
    } else {
      MPI_Op mpi_op = op == ReduceOp::sum ? MPI_SUM : op == ReduceOp::max ? MPI_MAX : MPI_MIN;
      buffer_->requests.resize(1);
      channel_->check(MPI_Iallreduce(MPI_IN_PLACE, buffer_->values.data(), static_cast<int>(values.size()),
                                     MPI_INT64_T, mpi_op, channel_->comm(), buffer_->requests.data()),
                      "MPI_Iallreduce");
    }
    // The caller computes until it first asks: that is not waiting.
    watch_.disarm();
  }

  ~MpiPendingAllreduce() override {
    if (done_) return;
    for (MPI_Request& request : buffer_->requests) {
      if (request != MPI_REQUEST_NULL) channel_->abandon(request, buffer_);
    }
  }

  bool test() override {
    if (done_) return true;
    channel_->watchdog().throw_if_aborted();
    watch_.arm();
    if (poll()) return true;
    watch_.check();
    return false;
  }

  void wait() override {
    if (done_) return;
    channel_->watchdog().throw_if_aborted();
    watch_.arm();
    progress_until(watch_, [this] { return poll(); });
  }

  std::span<const std::int64_t> values() const noexcept override {
    return {buffer_->values.data(), buffer_->count};
  }

 private:
  void start_exchange() {
    const int size = channel_->size();
    const int rank = channel_->rank();
    const auto count = buffer_->count;
    buffer_->received.resize(static_cast<std::size_t>(size - 1) * count);
    buffer_->requests.assign(2 * static_cast<std::size_t>(size - 1), MPI_REQUEST_NULL);
    std::size_t slot = 0;
    for (int peer = 0; peer < size; ++peer) {
      if (peer == rank) continue;
      channel_->check(MPI_Irecv(buffer_->received.data() + slot * count, static_cast<int>(count), MPI_INT64_T, peer,
                                kVoteTag, channel_->comm(), &buffer_->requests[2 * slot]),
                      "MPI_Irecv");
      channel_->check(MPI_Isend(buffer_->values.data(), static_cast<int>(count), MPI_INT64_T, peer, kVoteTag,
                                channel_->comm(), &buffer_->requests[2 * slot + 1]),
                      "MPI_Isend");
      ++slot;
    }
  }

  // One MPI_Testall; on completion, the result in buffer_->values.
  bool poll() {
    int flag = 0;
    channel_->check(MPI_Testall(static_cast<int>(buffer_->requests.size()), buffer_->requests.data(), &flag,
                                MPI_STATUSES_IGNORE),
                    "MPI_Testall");
    if (flag == 0) return false;
    const auto count = buffer_->count;
    for (std::size_t peer = 0; peer * count < buffer_->received.size(); ++peer) {
      for (std::size_t i = 0; i < count; ++i) {
        buffer_->values[i] = combine(buffer_->values[i], buffer_->received[peer * count + i], op_);
      }
    }
    done_ = true;
    watch_.release();
    return true;
  }

  std::shared_ptr<MpiChannel> channel_;
  std::shared_ptr<AgreementBuffer> buffer_;
  ReduceOp op_;
  CollectiveWatchdog::Watch watch_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<PendingAllreduce::Operation> start_mpi_allreduce(std::shared_ptr<MpiChannel> channel,
                                                                 std::span<const std::int64_t> values,
                                                                 ReduceOp op) {
  return std::make_unique<MpiPendingAllreduce>(std::move(channel), values, op);
}

}  // namespace lull::detail
