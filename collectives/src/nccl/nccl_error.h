#pragma once
// The NCCL mapper: the only place an ncclResult_t becomes a lull::Error.

#include <nccl.h>

#include <string>

#include "lull/base/error.h"
#include "lull/base/source_location.h"

namespace lull::detail {

// The Error for the NCCL `call` that returned (or reported asynchronously)
// `result`, on `subject`. The detail is ncclGetErrorString plus
// ncclGetLastError(comm) (comm may be null: the last error of the process);
// the hint says what the user can do.
Error nccl_error(ncclResult_t result, ncclComm_t comm, std::string call, std::string subject,
                 SourceLocation where = SourceLocation::current());

}  // namespace lull::detail
