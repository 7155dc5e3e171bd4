#pragma once
// lull::Error — the one exception type lull throws.
//
// Every failure of a foreign library (errno, HDF5, MPI, CUDA, NCCL) is turned
// into an Error in exactly one mapper per library (errno_error.h and
// cuda_error.h here, the others in their modules). An Error carries what kind of failure it is, the
// call that failed with its file:line, the library's own message and, where
// there is one, what the user can do about it.

#include <stdexcept>
#include <string>

#include "lull/base/source_location.h"

namespace lull {

enum class ErrorCode {
  invalid_argument,  // the caller passed something malformed (name, shape, dtype)
  not_found,         // a snapshot, tensor, blob or file that does not exist
  corrupt,           // a snapshot failed verification (checksum, missing shard, bad format)
  io,                // the operating system refused (ENOSPC, EIO, EACCES, ...)
  hdf5,              // the HDF5 library failed for another reason
  incomplete,        // a commit found ranks that did not all succeed
  in_use,            // another live process holds it (a snapshot directory another job writes)
  unsupported,       // a valid request this build cannot serve
  internal,          // a broken invariant inside lull
};

// Short lowercase name of a code, for messages and JSON: "corrupt", "io", ...
const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  // what(): "<message> [<call> at <file>:<line>] (<detail>) — <hint>",
  // leaving out the parts that are empty.
  Error(ErrorCode code, std::string message, std::string call = {},
        std::string detail = {}, std::string hint = {},
        SourceLocation where = SourceLocation::current());

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& call() const noexcept { return call_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string call_;
  std::string detail_;
  std::string hint_;
};

}  // namespace lull
