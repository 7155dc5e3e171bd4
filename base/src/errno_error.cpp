#include "lull/base/errno_error.h"

#include <cerrno>
#include <cstring>

namespace lull {

namespace {

std::string hint_for(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT: return "the filesystem is full: free space or point the snapshot directory elsewhere";
    case EACCES:
    case EPERM: return "check the owner and mode of the directory";
    case EROFS: return "the filesystem is read-only";
    case ENOENT: return "the path does not exist";
    case EIO: return "the device reported an I/O error: check the storage";
    default: return {};
  }
}

ErrorCode code_for(int err) { return err == ENOENT ? ErrorCode::not_found : ErrorCode::io; }

}  // namespace

Error errno_error(int err, std::string call, std::string subject, SourceLocation where) {
  char buf[256];
  // GNU strerror_r returns the message (possibly not in buf).
  const char* text = strerror_r(err, buf, sizeof buf);
  return Error(code_for(err), call + " failed on " + subject, call, text, hint_for(err), where);
}

void throw_errno(std::string call, std::string subject, SourceLocation where) {
  throw errno_error(errno, std::move(call), std::move(subject), where);
}

}  // namespace lull
