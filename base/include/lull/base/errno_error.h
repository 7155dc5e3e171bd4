#pragma once
// The errno mapper: the only place an errno value becomes a lull::Error.

#include <string>

#include "lull/base/error.h"
#include "lull/base/source_location.h"

namespace lull {

// Builds the Error for a failed POSIX call. `call` names it ("fsync"),
// `subject` says on what ("/ckpt/step-00000042/root.h5"); the detail is
// strerror(err) and the hint says what the user can do (for ENOSPC: free
// space; for EACCES: check ownership and mode).
Error errno_error(int err, std::string call, std::string subject,
                  SourceLocation where = SourceLocation::current());

// Throws errno_error(errno, ...) — for use right after a call returned -1.
[[noreturn]] void throw_errno(std::string call, std::string subject,
                              SourceLocation where = SourceLocation::current());

}  // namespace lull
