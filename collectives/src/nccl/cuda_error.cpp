#include "cuda_error.h"

namespace lull::detail {

namespace {

ErrorCode code_for(cudaError_t code) {
  switch (code) {
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorCompatNotSupportedOnDevice: return ErrorCode::unsupported;
    case cudaErrorInvalidValue:
    case cudaErrorInvalidDevice:
    case cudaErrorInvalidDevicePointer:
    case cudaErrorInvalidResourceHandle: return ErrorCode::invalid_argument;
    default: return ErrorCode::io;
  }
}

std::string hint_for(cudaError_t code) {
  switch (code) {
    case cudaErrorNoDevice:
      return "this machine has no usable GPU: run with the \"mpi\" backend, or check CUDA_VISIBLE_DEVICES";
    case cudaErrorInsufficientDriver:
      return "the NVIDIA driver is missing or older than this CUDA runtime: install a matching driver "
             "(nvidia-smi must work), or use the \"mpi\" backend";
    case cudaErrorMemoryAllocation: return "the GPU is out of memory: free device memory or use smaller buffers";
    case cudaErrorInvalidDevice: return "the device number is not a visible GPU: check cudaSetDevice and CUDA_VISIBLE_DEVICES";
    case cudaErrorInvalidValue:
    case cudaErrorInvalidDevicePointer:
      return "a buffer is not device memory of the communicator's GPU: allocate it with cudaMalloc on that device";
    default:
      return "the GPU or its driver failed: look at nvidia-smi and dmesg; restart the job from its last "
             "committed snapshot";
  }
}

}  // namespace

Error cuda_error(cudaError_t code, std::string call, std::string subject, SourceLocation where) {
  (void)cudaGetLastError();  // clear the per-thread error that a non-sticky failure leaves behind
  std::string detail = std::string(cudaGetErrorName(code)) + ": " + cudaGetErrorString(code);
  return Error(code_for(code), call + " failed on " + subject, call, detail, hint_for(code), where);
}

void check_cuda(cudaError_t code, const char* call, const std::string& subject, SourceLocation where) {
  if (code != cudaSuccess) throw cuda_error(code, call, subject, where);
}

}  // namespace lull::detail
