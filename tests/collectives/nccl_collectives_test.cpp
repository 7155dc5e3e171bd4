// The "nccl" backend under mpirun (1 and 2 ranks). Built in every build:
//   - without the NCCL backend: make_communicator("nccl") says it is not built in;
//   - with it but without a GPU (this machine): the device tests skip with the
//     reason, and the backend must refuse on every rank alike with a clear
//     error; the CUDA and NCCL error mappers are checked (they need no GPU);
//   - with GPUs: every op and dtype on device buffers, the host-side ops, abort.
// GPU presence must be the same on every rank (it decides which collectives run).

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lull/base/error.h"
#include "lull/collectives/communicator.h"
#include "typed_buffer.h"

#ifdef LULL_HAVE_NCCL
#include <cuda_runtime_api.h>

#include "lull/base/cuda_error.h"
#include "nccl/nccl_error.h"
#endif

namespace lull {
namespace {

CommunicatorOptions test_options() {
  CommunicatorOptions options;
  options.timeout_seconds = 30;
  options.label = "nccl-test";
  return options;
}

#ifndef LULL_HAVE_NCCL

TEST(NcclBackend, IsReportedAsNotBuiltIn) {
  try {
    make_communicator("nccl", MPI_COMM_WORLD, test_options());
    ADD_FAILURE() << "made an NCCL communicator in a build without NCCL";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("not built in"), std::string::npos) << e.what();
  }
  GTEST_SKIP() << "this build has no NCCL backend (CUDA or NCCL not found at configure time)";
}

#else

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// "" when this rank can use a GPU, else why not.
std::string gpu_absent_reason() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  }
  if (count == 0) return "cudaGetDeviceCount found no CUDA device";
  return {};
}

#define SKIP_WITHOUT_GPU()                                                              \
  do {                                                                                  \
    std::string why = gpu_absent_reason();                                              \
    if (!why.empty()) GTEST_SKIP() << "no GPU on this machine: " << why;                \
  } while (0)

// Selects this rank's GPU (ranks share the node's devices round robin).
void select_device() {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(world_rank() % count), cudaSuccess);
}

struct DeviceBuffer {
  explicit DeviceBuffer(std::size_t bytes) : size(bytes) {
    if (bytes > 0 && cudaMalloc(&ptr, bytes) != cudaSuccess) ptr = nullptr;
  }
  ~DeviceBuffer() {
    if (ptr != nullptr) cudaFree(ptr);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const std::vector<std::byte>& host) {
    ASSERT_EQ(cudaMemcpy(ptr, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  std::vector<std::byte> download() const {
    std::vector<std::byte> host(size);
    EXPECT_EQ(cudaMemcpy(host.data(), ptr, size, cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  void* ptr = nullptr;
  std::size_t size;
};

TEST(NcclBackend, IsListedInTheTable) {
  auto names = communicator_backends();
  EXPECT_NE(std::find(names.begin(), names.end(), "nccl"), names.end());
}

TEST(NcclBackend, RefusesOnEveryRankWithoutAGpu) {
  if (gpu_absent_reason().empty()) GTEST_SKIP() << "this machine has a GPU: the refusal is not reachable";
  try {
    make_communicator("nccl", MPI_COMM_WORLD, test_options());
    ADD_FAILURE() << "made an NCCL communicator without a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("needs a usable CUDA device on every rank"), std::string::npos)
        << e.what();
    EXPECT_NE(e.hint().find("\"mpi\" backend"), std::string::npos) << e.what();
  }
  MPI_Barrier(MPI_COMM_WORLD);  // every rank got here: nobody waits for a unique id
}

TEST(NcclErrorMapper, CarriesNcclsMessageAndAHint) {
  Error remote = detail::nccl_error(ncclRemoteError, nullptr, "ncclAllReduce", "NCCL communicator 'x'");
  EXPECT_EQ(remote.code(), ErrorCode::io);
  EXPECT_EQ(remote.call(), "ncclAllReduce");
  EXPECT_NE(remote.detail().find(ncclGetErrorString(ncclRemoteError)), std::string::npos) << remote.what();
  EXPECT_NE(remote.hint().find("peer"), std::string::npos);
  EXPECT_NE(std::string(remote.what()).find("nccl_collectives_test.cpp:"), std::string::npos) << remote.what();
  EXPECT_EQ(detail::nccl_error(ncclInvalidArgument, nullptr, "ncclBroadcast", "x").code(),
            ErrorCode::invalid_argument);
  EXPECT_EQ(detail::nccl_error(ncclInternalError, nullptr, "ncclCommInitRankConfig", "x").code(),
            ErrorCode::internal);
}

TEST(CudaErrorMapper, CarriesCudasMessageAndAHint) {
  Error none = cuda_error(cudaErrorNoDevice, "cudaGetDeviceCount", "this rank");
  EXPECT_EQ(none.code(), ErrorCode::unsupported);
  EXPECT_NE(none.detail().find("cudaErrorNoDevice"), std::string::npos) << none.what();
  EXPECT_NE(none.hint().find("\"mpi\" backend"), std::string::npos);
  Error oom = cuda_error(cudaErrorMemoryAllocation, "cudaMalloc", "device 0");
  EXPECT_EQ(oom.code(), ErrorCode::io);
  EXPECT_NE(oom.hint().find("out of memory"), std::string::npos);
  EXPECT_THROW(check_cuda(cudaErrorInvalidValue, "cudaMemcpy", "x"), Error);
  EXPECT_NO_THROW(check_cuda(cudaSuccess, "cudaMemcpy", "x"));
}

TEST(NcclBackend, AllreduceEveryDtypeAndOpOnDeviceBuffers) {
  SKIP_WITHOUT_GPU();
  select_device();
  auto comm = make_communicator("nccl", MPI_COMM_WORLD, test_options());
  EXPECT_EQ(comm->backend(), "nccl");
  EXPECT_EQ(comm->buffer_space(), BufferSpace::cuda_device);
  for (DType dtype : kAllDTypes) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::min}) {
      const std::size_t count = 1037;
      std::vector<double> mine(count);
      for (std::size_t i = 0; i < count; ++i) mine[i] = test::input_value(dtype, comm->rank(), i);
      DeviceBuffer buffer(count * dtype_size(dtype));
      ASSERT_NE(buffer.ptr, nullptr);
      buffer.upload(test::encode(dtype, mine));
      comm->allreduce(buffer.ptr, count, dtype, op);
      std::vector<double> got = test::decode(dtype, buffer.download());
      for (std::size_t i = 0; i < count; ++i) {
        double expected = test::input_value(dtype, 0, i);
        for (int r = 1; r < comm->size(); ++r) {
          double v = test::input_value(dtype, r, i);
          expected = op == ReduceOp::sum && dtype != DType::boolean ? expected + v
                     : op == ReduceOp::min                           ? std::min(expected, v)
                                                                     : std::max(expected, v);
        }
        ASSERT_EQ(got[i], expected) << dtype_name(dtype) << " " << reduce_op_name(op) << " element " << i;
      }
    }
  }
  comm->close();
}

TEST(NcclBackend, BroadcastAllgatherAndTheHostSide) {
  SKIP_WITHOUT_GPU();
  select_device();
  auto comm = make_communicator("nccl", MPI_COMM_WORLD, test_options());
  const auto size = static_cast<std::size_t>(comm->size());
  const auto rank = static_cast<std::size_t>(comm->rank());

  std::vector<std::byte> host(1000);
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<std::byte>(rank == 0 ? i % 199 : 0);
  DeviceBuffer data(host.size());
  data.upload(host);
  comm->broadcast(data.ptr, host.size(), 0);
  auto got = data.download();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<std::byte>(i % 199));

  const std::size_t per_rank = 64;
  std::vector<std::byte> mine(per_rank, static_cast<std::byte>(rank + 1));
  DeviceBuffer send(per_rank), recv(per_rank * size);
  send.upload(mine);
  comm->allgather(send.ptr, per_rank, recv.ptr);
  auto all = recv.download();
  for (std::size_t r = 0; r < size; ++r) {
    for (std::size_t i = 0; i < per_rank; ++i) ASSERT_EQ(all[r * per_rank + i], static_cast<std::byte>(r + 1));
  }

  std::string report = "rank " + std::to_string(rank);
  auto reports = comm->gather_bytes(std::as_bytes(std::span(report)), 0);
  if (rank == 0) {
    EXPECT_EQ(reports.size(), size);
  }
  auto vote = comm->start_allreduce(std::array<std::int64_t, 1>{static_cast<std::int64_t>(rank)}, ReduceOp::max);
  EXPECT_EQ(vote.wait()[0], static_cast<std::int64_t>(size) - 1);
  comm->barrier();
  comm->close();
  EXPECT_THROW(comm->barrier(), Error);
}

TEST(NcclBackend, AbortKeepsTheFirstReason) {
  SKIP_WITHOUT_GPU();
  select_device();
  auto comm = make_communicator("nccl", MPI_COMM_WORLD, test_options());
  comm->abort("preempted");
  comm->abort("later");
  EXPECT_TRUE(comm->aborted());
  EXPECT_EQ(comm->abort_reason(), "preempted");
  DeviceBuffer buffer(16);
  try {
    comm->allreduce(buffer.ptr, 4, DType::f32, ReduceOp::sum);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("preempted"), std::string::npos) << e.what();
  }
  EXPECT_THROW(comm->barrier(), Error);
  MPI_Barrier(MPI_COMM_WORLD);
}

#endif  // LULL_HAVE_NCCL

}  // namespace
}  // namespace lull
