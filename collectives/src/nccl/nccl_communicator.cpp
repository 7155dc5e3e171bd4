#include "nccl_communicator.h"

#include <utility>

#include "../progress_loop.h"
#include "lull/base/cuda_error.h"
#include "lull/base/error.h"
#include "nccl_error.h"

namespace lull::detail {

namespace {

struct NcclReduction {
  ncclDataType_t type;
  ncclRedOp_t op;
};

NcclReduction nccl_reduction(DType dtype, ReduceOp op) noexcept {
  ncclRedOp_t nccl_op = op == ReduceOp::sum ? ncclSum : op == ReduceOp::max ? ncclMax : ncclMin;
  switch (dtype) {
    case DType::f16: return {ncclFloat16, nccl_op};
    case DType::bf16: return {ncclBfloat16, nccl_op};
    case DType::f32: return {ncclFloat32, nccl_op};
    case DType::f64: return {ncclFloat64, nccl_op};
    case DType::i8: return {ncclInt8, nccl_op};
    case DType::u8: return {ncclUint8, nccl_op};
    case DType::i32: return {ncclInt32, nccl_op};
    case DType::i64: return {ncclInt64, nccl_op};
    case DType::boolean: return {ncclUint8, op == ReduceOp::min ? ncclMin : ncclMax};  // sum of bools: or
  }
  return {ncclUint8, nccl_op};
}

// Why this rank cannot run NCCL ("" if it can); `device` gets the current device.
std::string local_gpu_problem(int& device) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return cuda_error(e, "cudaGetDeviceCount", "this rank").what();
  if (count == 0) return "cudaGetDeviceCount found no CUDA device";
  e = cudaGetDevice(&device);
  if (e != cudaSuccess) return cuda_error(e, "cudaGetDevice", "this rank").what();
  return {};
}

std::chrono::nanoseconds to_nanoseconds(double seconds) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
}

}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm comm, const CommunicatorOptions& options)
    : label_(options.label), before_post_(options.before_post) {
  const double timeout = options.effective_timeout_seconds();
  CommunicatorOptions host_options = options;
  host_options.label = options.label + ":host";
  host_ = std::make_unique<MpiCommunicator>(comm, host_options,
                                            [this] { comm_.abort("collective timeout on the host communicator"); });
  subject_ = "NCCL communicator '" + label_ + "' (rank " + std::to_string(rank()) + " of " +
             std::to_string(size()) + ")";

  // Every rank must have a GPU, a stream and an event on it, or all refuse
  // alike (rather than some waiting for the unique id until the watchdog fires).
  std::string problem = local_gpu_problem(device_);
  if (problem.empty()) {
    try {
      stream_ = CudaStream::create(device_);
      caller_work_done_ = CudaEvent::create(device_);
    } catch (const Error& e) {
      problem = e.what();
    }
  }
  std::int64_t usable = problem.empty() ? 1 : 0;
  host_->allreduce(&usable, 1, DType::i64, ReduceOp::min);
  if (usable == 0) {
    throw Error(ErrorCode::unsupported,
                "the nccl backend needs a usable CUDA device on every rank; " +
                    (problem.empty() ? std::string("another rank has none") : "this rank: " + problem),
                {}, {},
                "run where every rank has a GPU (cudaSetDevice before making the communicator), or use the "
                "\"mpi\" backend");
  }
  watchdog_ = std::make_unique<CollectiveWatchdog>(WatchdogSettings{
      "nccl", label_, rank(), size(), to_nanoseconds(timeout), options.on_timeout,
      [this] { comm_.abort("collective timeout"); }});

  // Rank 0 makes the unique id; its failure travels with it, so that no rank
  // waits for an id that will never come.
  struct UniqueIdMessage {
    std::int32_t ok = 0;
    ncclUniqueId id{};
  } message;
  std::string id_problem;
  if (rank() == 0) {
    ncclResult_t result = ncclGetUniqueId(&message.id);
    if (result == ncclSuccess) {
      message.ok = 1;
    } else {
      id_problem = nccl_error(result, nullptr, "ncclGetUniqueId", subject_).what();
    }
  }
  host_->broadcast(&message, sizeof message, 0);
  if (message.ok == 0) {
    throw Error(ErrorCode::io, "rank 0 could not make the NCCL unique id" + (id_problem.empty() ? "" : ": " + id_problem),
                "ncclGetUniqueId", {}, "run with NCCL_DEBUG=WARN on rank 0 and check its network interfaces");
  }
  const ncclUniqueId& id = message.id;

  auto watch = begin(CollectiveDescription::named("nccl_init"));
  DeviceGuard guard(device_);
  try {
    comm_.start_init(size(), id, rank(), label_, subject_);
    progress_until(watch, [this] { return comm_.poll_ready(); });
  } catch (const std::exception& e) {
    abort_all(std::string("NCCL initialization failed: ") + e.what());
    throw;
  }
}

NcclCommunicator::~NcclCommunicator() = default;

void NcclCommunicator::abort(std::string_view reason) noexcept {
  try {
    abort_all(std::string(reason));
  } catch (...) {
    abort_all({});
  }
}

void NcclCommunicator::abort_all(const std::string& reason) noexcept {
  comm_.abort(reason);
  if (watchdog_) watchdog_->abort(reason);
  if (host_) host_->abort(reason);
}

bool NcclCommunicator::aborted() const noexcept {
  return (watchdog_ && watchdog_->aborted()) || host_->aborted();
}

std::string NcclCommunicator::abort_reason() const {
  std::string reason = watchdog_ ? watchdog_->abort_reason() : std::string();
  return reason.empty() ? host_->abort_reason() : reason;
}

CollectiveWatchdog::Watch NcclCommunicator::begin(const CollectiveDescription& what) {
  if (host_->aborted()) abort_all(host_->abort_reason());
  watchdog_->throw_if_aborted();
  auto watch = watchdog_->watch(what, ++sequence_, /*armed=*/true);
  if (before_post_) {
    before_post_(CollectiveCall{what.operation, sequence_, rank()});
    watch.check();
  }
  return watch;
}

void NcclCommunicator::run_on_device(CollectiveWatchdog::Watch& watch, const char* name,
                                     const std::function<ncclResult_t(ncclComm_t)>& call) {
  DeviceGuard guard(device_);
  try {
    check_cuda(cudaEventRecord(caller_work_done_.get(), cudaStreamLegacy), "cudaEventRecord", subject_);
    check_cuda(cudaStreamWaitEvent(stream_.get(), caller_work_done_.get(), 0), "cudaStreamWaitEvent", subject_);
    comm_.issue(name, call);
    // With blocking = 0 the enqueue itself may still be in progress.
    progress_until(watch, [this] { return comm_.poll_ready(); });
    // Then the kernels: done when the stream is idle; a peer's failure shows
    // up as NCCL's asynchronous error meanwhile.
    progress_until(watch, [this, name] {
      cudaError_t e = cudaStreamQuery(stream_.get());
      if (e == cudaSuccess) return true;
      if (e != cudaErrorNotReady) throw cuda_error(e, std::string("cudaStreamQuery after ") + name, subject_);
      comm_.poll_ready();
      return false;
    });
  } catch (const std::exception& e) {
    // After an NCCL or CUDA error nothing can be assumed of the communicator:
    // abort it (NCCL's own advice), so that no kernel stays waiting for peers.
    abort_all(e.what());
    throw;
  }
}

template <class F>
decltype(auto) NcclCommunicator::on_host(F&& f) {
  if (watchdog_->aborted()) host_->abort(watchdog_->abort_reason());
  try {
    return std::forward<F>(f)();
  } catch (...) {
    if (host_->aborted()) abort_all(host_->abort_reason());
    throw;
  }
}

void NcclCommunicator::do_allreduce(void* data, std::size_t count, DType dtype, ReduceOp op) {
  auto watch = begin(CollectiveDescription::reduction("allreduce", dtype, op, count));
  if (count == 0) return;
  NcclReduction r = nccl_reduction(dtype, op);
  run_on_device(watch, "ncclAllReduce", [&](ncclComm_t c) {
    return ncclAllReduce(data, data, count, r.type, r.op, c, stream_.get());
  });
}

void NcclCommunicator::do_broadcast(void* data, std::size_t bytes, int root) {
  auto watch = begin(CollectiveDescription::bytes("broadcast", bytes, "bytes", root));
  if (bytes == 0) return;
  run_on_device(watch, "ncclBroadcast", [&](ncclComm_t c) {
    return ncclBroadcast(data, data, bytes, ncclUint8, root, c, stream_.get());
  });
}

void NcclCommunicator::do_allgather(const void* send, std::size_t bytes_per_rank, void* recv) {
  auto watch = begin(CollectiveDescription::bytes("allgather", bytes_per_rank, "bytes per rank"));
  if (bytes_per_rank == 0) return;
  // NCCL's in-place case is the same as ours: send == recv + rank * bytes.
  run_on_device(watch, "ncclAllGather", [&](ncclComm_t c) {
    return ncclAllGather(send, recv, bytes_per_rank, ncclUint8, c, stream_.get());
  });
}

std::vector<std::vector<std::byte>> NcclCommunicator::do_gather_bytes(std::span<const std::byte> mine, int root) {
  return on_host([&] { return host_->gather_bytes(mine, root); });
}

void NcclCommunicator::do_barrier() {
  on_host([&] { host_->barrier(); });
}

PendingAllreduce NcclCommunicator::do_start_allreduce(std::span<const std::int64_t> values, ReduceOp op) {
  return on_host([&] { return host_->start_allreduce(values, op); });
}

void NcclCommunicator::do_close() {
  auto watch = begin(CollectiveDescription::named("nccl_destroy"));
  {
    DeviceGuard guard(device_);
    ProgressBackoff backoff;
    try {
      comm_.destroy([&] {
        watch.check();
        backoff.pause();
      });
    } catch (const std::exception& e) {
      abort_all(e.what());
      throw;
    }
  }
  watch.release();
  on_host([&] { host_->close(); });
  watchdog_->abort("the communicator was closed");
}

}  // namespace lull::detail
