#pragma once
// The CUDA mapper: the only place a cudaError_t becomes a lull::Error, for
// every module built with CUDA (the runtime's device staging, the NCCL
// backend's streams and devices).
//
// Header-only, so that lull_base itself never links the CUDA runtime: include
// it only from code compiled with CUDA's headers (the modules' CUDA sources).

#include <cuda_runtime_api.h>

#include <string>

#include "lull/base/error.h"
#include "lull/base/source_location.h"

namespace lull {

namespace cuda_error_detail {

inline ErrorCode code_for(cudaError_t code) {
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

inline std::string hint_for(cudaError_t code) {
  switch (code) {
    case cudaErrorNoDevice:
      return "this machine has no usable GPU: run with the \"mpi\" backend, or check CUDA_VISIBLE_DEVICES";
    case cudaErrorInsufficientDriver:
      return "the NVIDIA driver is missing or older than this CUDA runtime: install a matching driver "
             "(nvidia-smi must work), or use the \"mpi\" backend";
    case cudaErrorMemoryAllocation:
      return "the GPU (or, for pinned buffers, the host) is out of memory: free memory or use smaller buffers";
    case cudaErrorInvalidDevice:
      return "the device number is not a visible GPU: check cudaSetDevice and CUDA_VISIBLE_DEVICES";
    case cudaErrorInvalidValue:
    case cudaErrorInvalidDevicePointer:
      return "a buffer is not device memory of the current GPU (freed, or allocated on another device): "
             "allocate it with cudaMalloc on that device and keep it while lull uses it";
    default:
      return "the GPU or its driver failed: look at nvidia-smi and dmesg; restart the job from its last "
             "committed snapshot";
  }
}

}  // namespace cuda_error_detail

// The Error for the CUDA runtime `call` ("cudaMemcpy") that returned `code`,
// on `subject` ("device 0"). The detail is cudaGetErrorName: cudaGetErrorString;
// the code is unsupported (no device or driver), invalid_argument (a bad
// value, device or pointer) or io; the hint says what to do. Clears CUDA's
// per-thread last error, which a non-sticky failure leaves behind.
inline Error cuda_error(cudaError_t code, std::string call, std::string subject,
                        SourceLocation where = SourceLocation::current()) {
  (void)cudaGetLastError();
  std::string detail = std::string(cudaGetErrorName(code)) + ": " + cudaGetErrorString(code);
  return Error(cuda_error_detail::code_for(code), call + " failed on " + subject, call, detail,
               cuda_error_detail::hint_for(code), where);
}

// Throws cuda_error(code, ...) unless code == cudaSuccess.
inline void check_cuda(cudaError_t code, const char* call, const std::string& subject,
                       SourceLocation where = SourceLocation::current()) {
  if (code != cudaSuccess) throw cuda_error(code, call, subject, where);
}

}  // namespace lull
