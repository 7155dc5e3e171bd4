#include "hdf5_error.h"

#include <cstring>
#include <mutex>
#include <string_view>

namespace lull::detail {

void quiet_hdf5() noexcept {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

namespace {

struct StackSummary {
  std::string messages;  // innermost first, "; "-joined
  bool no_space = false;
};

herr_t collect(unsigned n, const H5E_error2_t* entry, void* data) {
  auto* summary = static_cast<StackSummary*>(data);
  if (entry->desc != nullptr && n < 4) {
    if (!summary->messages.empty()) summary->messages += "; ";
    summary->messages += entry->desc;
  }
  if (entry->desc != nullptr && (std::strstr(entry->desc, "No space left") != nullptr ||
                                 std::strstr(entry->desc, "errno = 28") != nullptr)) {
    summary->no_space = true;
  }
  return 0;
}

}  // namespace

Error hdf5_error(std::string call, std::string subject, SourceLocation where) {
  StackSummary summary;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &summary);
  H5Eclear2(H5E_DEFAULT);
  if (summary.no_space) {
    return Error(ErrorCode::io, call + " failed on " + subject + ": no space left on device", call,
                 summary.messages,
                 "the filesystem is full: free space or point the snapshot directory elsewhere", where);
  }
  return Error(ErrorCode::hdf5, call + " failed on " + subject, call,
               summary.messages.empty() ? "no HDF5 error message" : summary.messages, {}, where);
}

hid_t check_id(hid_t id, const char* call, const std::string& subject, SourceLocation where) {
  if (id < 0) throw hdf5_error(call, subject, where);
  return id;
}

void check_status(herr_t status, const char* call, const std::string& subject,
                  SourceLocation where) {
  if (status < 0) throw hdf5_error(call, subject, where);
}

}  // namespace lull::detail
