// The MPI backend's start_allreduce(): one MPI_Iallreduce of a few int64
// values, polled by test() and waited for by wait().

#include <array>
#include <cstdint>
#include <utility>

#include "../progress_loop.h"
#include "mpi_channel.h"
#include "mpi_communicator.h"

namespace lull::detail {

namespace {

// What MPI writes into; it must stay put while the request is pending, even
// after the handle is gone (then the channel keeps it).
struct AgreementBuffer {
  std::array<std::int64_t, kMaxAgreementValues> values{};
  std::size_t count = 0;
};

class MpiPendingAllreduce final : public PendingAllreduce::Operation {
 public:
  MpiPendingAllreduce(std::shared_ptr<MpiChannel> channel, std::span<const std::int64_t> values, ReduceOp op)
      : channel_(std::move(channel)), buffer_(std::make_shared<AgreementBuffer>()) {
    std::copy(values.begin(), values.end(), buffer_->values.begin());
    buffer_->count = values.size();
    watch_ = channel_->begin(CollectiveDescription::reduction("start_allreduce", DType::i64, op, values.size()));
    MPI_Op mpi_op = op == ReduceOp::sum ? MPI_SUM : op == ReduceOp::max ? MPI_MAX : MPI_MIN;
    channel_->check(MPI_Iallreduce(MPI_IN_PLACE, buffer_->values.data(), static_cast<int>(values.size()),
                                   MPI_INT64_T, mpi_op, channel_->comm(), &request_),
                    "MPI_Iallreduce");
    // The caller computes until it first asks: that is not waiting.
    watch_.disarm();
  }

  ~MpiPendingAllreduce() override {
    if (!done_ && request_ != MPI_REQUEST_NULL) channel_->abandon(request_, std::move(buffer_));
  }

  bool test() override {
    if (done_) return true;
    channel_->watchdog().throw_if_aborted();
    watch_.arm();
    int flag = 0;
    channel_->check(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag != 0) {
      finish();
      return true;
    }
    watch_.check();
    return false;
  }

  void wait() override {
    if (done_) return;
    channel_->watchdog().throw_if_aborted();
    watch_.arm();
    progress_until(watch_, [this] {
      int flag = 0;
      channel_->check(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
      return flag != 0;
    });
    finish();
  }

  std::span<const std::int64_t> values() const noexcept override {
    return {buffer_->values.data(), buffer_->count};
  }

 private:
  void finish() noexcept {
    done_ = true;
    request_ = MPI_REQUEST_NULL;
    watch_.release();
  }

  std::shared_ptr<MpiChannel> channel_;
  std::shared_ptr<AgreementBuffer> buffer_;
  MPI_Request request_ = MPI_REQUEST_NULL;
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
