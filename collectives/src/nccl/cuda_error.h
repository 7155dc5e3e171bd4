#pragma once
// The CUDA mapper: the only place a cudaError_t becomes a lull::Error.

#include <cuda_runtime_api.h>

#include <string>

#include "lull/base/error.h"
#include "lull/base/source_location.h"

namespace lull::detail {

// The Error for the CUDA runtime `call` that returned `code`, on `subject`.
// The detail is cudaGetErrorName: cudaGetErrorString; the hint says what to
// do (no device or driver: use the "mpi" backend or fix the driver; out of
// memory: smaller buffers). Clears CUDA's per-thread last error.
Error cuda_error(cudaError_t code, std::string call, std::string subject,
                 SourceLocation where = SourceLocation::current());

// Throws cuda_error(code, ...) unless code == cudaSuccess.
void check_cuda(cudaError_t code, const char* call, const std::string& subject,
                SourceLocation where = SourceLocation::current());

}  // namespace lull::detail
