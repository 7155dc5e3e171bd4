#include "nccl_error.h"

namespace lull::detail {

namespace {

ErrorCode code_for(ncclResult_t result) {
  switch (result) {
    case ncclInvalidArgument:
    case ncclInvalidUsage: return ErrorCode::invalid_argument;
    case ncclInternalError: return ErrorCode::internal;
    default: return ErrorCode::io;
  }
}

std::string hint_for(ncclResult_t result) {
  switch (result) {
    case ncclUnhandledCudaError:
      return "a CUDA call inside NCCL failed: check the GPU (nvidia-smi, dmesg) and that every rank "
             "uses its own device";
    case ncclSystemError:
      return "a system call or the network failed: run with NCCL_DEBUG=WARN for NCCL's own account, "
             "and check the interfaces (NCCL_SOCKET_IFNAME)";
    case ncclRemoteError:
      return "a peer rank failed or exited: look at the other ranks' logs and restart the job from its "
             "last committed snapshot";
    case ncclInvalidArgument:
      return "a buffer, count or root is invalid: buffers must be device memory of the communicator's GPU";
    case ncclInvalidUsage:
      return "NCCL was called out of order or on an aborted communicator: call collectives identically on "
             "every rank";
    case ncclInternalError: return "an NCCL bug: report it with NCCL_DEBUG=INFO output";
    default: return {};
  }
}

}  // namespace

Error nccl_error(ncclResult_t result, ncclComm_t comm, std::string call, std::string subject,
                 SourceLocation where) {
  std::string detail = ncclGetErrorString(result);
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && *last != '\0') detail += ": " + std::string(last);
  return Error(code_for(result), call + " failed on " + subject, call, detail, hint_for(result), where);
}

}  // namespace lull::detail
