// The backend-independent half of the Communicator: argument checks, the
// pending-allreduce handle, options.

#include "lull/collectives/communicator.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "lull/base/error.h"

namespace lull {

const char* reduce_op_name(ReduceOp op) noexcept {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::max: return "max";
    case ReduceOp::min: return "min";
  }
  return "unknown";
}

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(ErrorCode::invalid_argument, message);
}

void require_root(int root, int size, const char* what) {
  require(root >= 0 && root < size, std::string(what) + ": root " + std::to_string(root) +
                                        " is not a rank of this communicator (size " +
                                        std::to_string(size) + ")");
}

}  // namespace

std::optional<double> collective_timeout_from_environment() {
  const char* text = std::getenv(kCollectiveTimeoutEnv);
  if (text == nullptr || *text == '\0') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno != 0 || !std::isfinite(value) || value <= 0) {
    throw Error(ErrorCode::invalid_argument,
                std::string(kCollectiveTimeoutEnv) + " must be a number of seconds > 0, not \"" + text + "\"", {},
                {},
                "unset it for the default of " + std::to_string(static_cast<int>(kDefaultCollectiveTimeoutSeconds)) +
                    " s");
  }
  return value;
}

double CommunicatorOptions::effective_timeout_seconds() const {
  if (timeout_seconds) {
    double t = *timeout_seconds;
    if (!std::isfinite(t) || t <= 0) {
      throw Error(ErrorCode::invalid_argument,
                  "CommunicatorOptions::timeout_seconds must be > 0, not " + std::to_string(t));
    }
    return t;
  }
  return collective_timeout_from_environment().value_or(kDefaultCollectiveTimeoutSeconds);
}

// ---- PendingAllreduce ------------------------------------------------------------------------

PendingAllreduce::PendingAllreduce(std::unique_ptr<Operation> operation) noexcept
    : operation_(std::move(operation)) {}
PendingAllreduce::PendingAllreduce(PendingAllreduce&&) noexcept = default;
PendingAllreduce& PendingAllreduce::operator=(PendingAllreduce&&) noexcept = default;
PendingAllreduce::~PendingAllreduce() = default;

bool PendingAllreduce::test() {
  require(valid(), "PendingAllreduce::test() on an empty handle");
  if (!done_) done_ = operation_->test();
  return done_;
}

std::span<const std::int64_t> PendingAllreduce::wait() & {
  require(valid(), "PendingAllreduce::wait() on an empty handle");
  if (!done_) {
    operation_->wait();
    done_ = true;
  }
  return operation_->values();
}

std::vector<std::int64_t> PendingAllreduce::wait() && {
  const std::span<const std::int64_t> values = wait();  // *this is an lvalue here
  return {values.begin(), values.end()};
}

std::span<const std::int64_t> PendingAllreduce::values() const {
  require(valid() && done_, "PendingAllreduce::values() before the operation completed");
  return operation_->values();
}

// ---- Communicator: checks, then the backend ----------------------------------------------------

void Communicator::allreduce(void* data, std::size_t count, DType dtype, ReduceOp op) {
  require(data != nullptr || count == 0, "allreduce: null buffer");
  do_allreduce(data, count, dtype, op);
}

void Communicator::broadcast(void* data, std::size_t bytes, int root) {
  require(data != nullptr || bytes == 0, "broadcast: null buffer");
  require_root(root, size(), "broadcast");
  do_broadcast(data, bytes, root);
}

void Communicator::allgather(const void* send, std::size_t bytes_per_rank, void* recv) {
  require((send != nullptr && recv != nullptr) || bytes_per_rank == 0, "allgather: null buffer");
  require(bytes_per_rank <= static_cast<std::size_t>(INT_MAX),
          "allgather: " + std::to_string(bytes_per_rank) + " bytes per rank is more than the 2 GiB lull supports");
  do_allgather(send, bytes_per_rank, recv);
}

std::vector<std::vector<std::byte>> Communicator::gather_bytes(std::span<const std::byte> mine, int root) {
  require_root(root, size(), "gather_bytes");
  return do_gather_bytes(mine, root);
}

void Communicator::barrier() { do_barrier(); }

PendingAllreduce Communicator::start_allreduce(std::span<const std::int64_t> values, ReduceOp op) {
  require(!values.empty() && values.size() <= kMaxAgreementValues,
          "start_allreduce: " + std::to_string(values.size()) + " values; 1 to " +
              std::to_string(kMaxAgreementValues) + " are allowed");
  return do_start_allreduce(values, op);
}

void Communicator::close() { do_close(); }

}  // namespace lull
