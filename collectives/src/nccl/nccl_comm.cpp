#include "nccl_comm.h"

#include <utility>

#include "lull/base/error.h"
#include "nccl_error.h"

namespace lull::detail {

NcclComm::NcclComm() : state_(std::make_unique<State>()) {}

NcclComm::NcclComm(NcclComm&& other) noexcept : state_(std::move(other.state_)) {}

NcclComm& NcclComm::operator=(NcclComm&& other) noexcept {
  if (this != &other) {
    if (state_) {
      std::lock_guard lock(state_->mutex);
      abort_locked("replaced by another communicator");
    }
    state_ = std::move(other.state_);
  }
  return *this;
}

NcclComm::~NcclComm() {
  if (!state_) return;
  std::lock_guard lock(state_->mutex);
  if (state_->comm != nullptr) {
    ncclCommAbort(state_->comm);  // local: frees resources without waiting for peers
    state_->comm = nullptr;
  }
}

NcclComm::State& NcclComm::state() const {
  if (!state_) throw Error(ErrorCode::internal, "use of a moved-from NcclComm");
  return *state_;
}

void NcclComm::start_init(int nranks, const ncclUniqueId& id, int rank, const std::string& name,
                          const std::string& subject) {
  std::lock_guard lock(state().mutex);
  state_->subject = subject;
  if (state_->aborted) throw_aborted();
  if (state_->comm != nullptr) {
    throw Error(ErrorCode::internal, "NcclComm::start_init on a communicator already made");
  }
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  config.commName = name.c_str();
  ncclComm_t comm = nullptr;
  ncclResult_t result = ncclCommInitRankConfig(&comm, nranks, id, rank, &config);
  if (result != ncclSuccess && result != ncclInProgress) {
    Error error = nccl_error(result, comm, "ncclCommInitRankConfig", subject);
    if (comm != nullptr) ncclCommAbort(comm);
    throw error;
  }
  state_->comm = comm;
}

bool NcclComm::poll_ready() {
  std::lock_guard lock(state().mutex);
  if (state_->aborted) throw_aborted();
  if (state_->comm == nullptr) throw Error(ErrorCode::internal, "NcclComm used before start_init");
  ncclResult_t state = ncclSuccess;
  ncclResult_t result = ncclCommGetAsyncError(state_->comm, &state);
  if (result != ncclSuccess) throw nccl_error(result, state_->comm, "ncclCommGetAsyncError", state_->subject);
  if (state == ncclInProgress) return false;
  if (state != ncclSuccess) throw nccl_error(state, state_->comm, "ncclCommGetAsyncError", state_->subject);
  return true;
}

void NcclComm::issue(const char* name, const std::function<ncclResult_t(ncclComm_t)>& call) {
  std::lock_guard lock(state().mutex);
  if (state_->aborted) throw_aborted();
  if (state_->comm == nullptr) throw Error(ErrorCode::internal, "NcclComm used before start_init");
  ncclResult_t result = call(state_->comm);
  if (result != ncclSuccess && result != ncclInProgress) throw nccl_error(result, state_->comm, name, state_->subject);
}

void NcclComm::destroy(const std::function<void()>& between_polls) {
  issue("ncclCommFinalize", [](ncclComm_t comm) { return ncclCommFinalize(comm); });
  try {
    while (!poll_ready()) between_polls();
  } catch (...) {
    abort("ncclCommFinalize did not complete");
    throw;
  }
  std::lock_guard lock(state_->mutex);
  if (state_->aborted) throw_aborted();
  ncclComm_t comm = std::exchange(state_->comm, nullptr);
  state_->aborted = true;  // nothing may use it any more
  state_->reason = "the NCCL communicator was destroyed";
  ncclResult_t result = ncclCommDestroy(comm);
  if (result != ncclSuccess) throw nccl_error(result, nullptr, "ncclCommDestroy", state_->subject);
}

void NcclComm::abort(std::string reason) noexcept {
  if (!state_) return;
  std::lock_guard lock(state_->mutex);
  abort_locked(std::move(reason));
}

void NcclComm::abort_locked(std::string reason) noexcept {
  if (!state_->aborted) {
    state_->aborted = true;
    state_->reason = std::move(reason);
  }
  if (state_->comm != nullptr) {
    ncclCommAbort(state_->comm);
    state_->comm = nullptr;
  }
}

bool NcclComm::aborted() const noexcept {
  if (!state_) return true;
  std::lock_guard lock(state_->mutex);
  return state_->aborted;
}

std::string NcclComm::abort_reason() const {
  if (!state_) return "moved from";
  std::lock_guard lock(state_->mutex);
  return state_->reason;
}

bool NcclComm::live() const noexcept {
  if (!state_) return false;
  std::lock_guard lock(state_->mutex);
  return state_->comm != nullptr;
}

void NcclComm::throw_aborted() const {
  throw Error(ErrorCode::io, state_->subject + " is aborted: " + state_->reason, {}, {},
              "the job cannot go on with this communicator: exit, and restart from the last committed snapshot");
}

}  // namespace lull::detail
