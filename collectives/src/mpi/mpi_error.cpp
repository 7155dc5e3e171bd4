#include "lull/collectives/mpi_error.h"

#include <mpi.h>

namespace lull {

namespace {

std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING + 1] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

int error_class(int code) {
  int cls = MPI_ERR_UNKNOWN;
  if (MPI_Error_class(code, &cls) != MPI_SUCCESS) return MPI_ERR_UNKNOWN;
  return cls;
}

bool is_argument_class(int cls) {
  switch (cls) {
    case MPI_ERR_BUFFER:
    case MPI_ERR_COUNT:
    case MPI_ERR_TYPE:
    case MPI_ERR_TAG:
    case MPI_ERR_COMM:
    case MPI_ERR_RANK:
    case MPI_ERR_ROOT:
    case MPI_ERR_GROUP:
    case MPI_ERR_OP:
    case MPI_ERR_ARG:
    case MPI_ERR_DIMS:
    case MPI_ERR_TRUNCATE: return true;
    default: return false;
  }
}

std::string hint_for(int cls) {
  if (is_argument_class(cls)) {
    return "the ranks disagree on a collective's arguments (count, dtype, root, size) or the "
           "communicator is not a valid intra-communicator: call collectives identically on every rank";
  }
  switch (cls) {
    case MPI_ERR_NO_MEM: return "MPI ran out of memory: lower the message size or free memory";
    case MPI_ERR_INTERN:
    case MPI_ERR_OTHER:
    case MPI_ERR_UNKNOWN:
    default:
      return "a peer rank may have died or the network failed: look at the other ranks' logs and "
             "restart the job from its last committed snapshot";
  }
}

}  // namespace

Error mpi_error(int code, std::string call, std::string subject, SourceLocation where) {
  int cls = error_class(code);
  std::string detail = error_string(code);
  if (cls != code) detail += " [class: " + error_string(cls) + "]";
  return Error(is_argument_class(cls) ? ErrorCode::invalid_argument : ErrorCode::io,
               call + " failed on " + subject, call, detail, hint_for(cls), where);
}

void check_mpi(int code, const char* call, const std::string& subject, SourceLocation where) {
  if (code != MPI_SUCCESS) throw mpi_error(code, call, subject, where);
}

}  // namespace lull
