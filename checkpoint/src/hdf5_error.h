#pragma once
// The HDF5 mapper: the only place an HDF5 failure becomes a lull::Error.
//
// HDF5's automatic error printing is switched off the first time any of
// these is used; the error stack is read instead. When a driver call in it
// reports an errno (ENOSPC, EIO, ...), the Error is the errno mapper's (the
// system's own text, "No space left on device", its code and hint) with
// HDF5's messages after it; otherwise it is Error(hdf5) with those messages.

#include <hdf5.h>

#include <string>

#include "lull/base/error.h"
#include "lull/base/source_location.h"

namespace lull::detail {

// Call once before any HDF5 use in an entry point; idempotent, cheap.
void quiet_hdf5() noexcept;

// The Error for the failed HDF5 `call` on `subject` (a file or object path).
Error hdf5_error(std::string call, std::string subject,
                 SourceLocation where = SourceLocation::current());

// Checks an hid_t or herr_t result: negative -> throws hdf5_error().
hid_t check_id(hid_t id, const char* call, const std::string& subject,
               SourceLocation where = SourceLocation::current());
void check_status(herr_t status, const char* call, const std::string& subject,
                  SourceLocation where = SourceLocation::current());

}  // namespace lull::detail
