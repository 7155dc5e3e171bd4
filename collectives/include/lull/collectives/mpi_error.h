#pragma once
// The MPI mapper: the only place an MPI error code becomes a lull::Error.
// Public so that every lull module that calls MPI maps its errors the same way.

#include <string>

#include "lull/base/error.h"
#include "lull/base/source_location.h"

namespace lull {

// The Error for an MPI `call` ("MPI_Iallreduce") that returned `code`, on
// `subject` ("communicator 'lull'"). The detail is MPI_Error_string with the
// error class; the hint says what the user can do. ErrorCode::invalid_argument
// for the argument classes (MPI_ERR_COUNT, MPI_ERR_ROOT, ...), io otherwise.
Error mpi_error(int code, std::string call, std::string subject,
                SourceLocation where = SourceLocation::current());

// Throws mpi_error(code, ...) unless code == MPI_SUCCESS.
void check_mpi(int code, const char* call, const std::string& subject,
               SourceLocation where = SourceLocation::current());

}  // namespace lull
