#include "hdf5_error.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>

#include "lull/base/errno_error.h"

namespace lull::detail {

void quiet_hdf5() noexcept {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

namespace {

struct StackSummary {
  std::string messages;  // outermost first, "; "-joined
  int err = 0;           // the errno a driver call reported, if any
};

// The errno in a driver message ("... errno = 28, error message = ...").
int errno_in(const char* desc) noexcept {
  const char* at = std::strstr(desc, "errno = ");
  if (at == nullptr) return 0;
  const long value = std::strtol(at + std::strlen("errno = "), nullptr, 10);
  return value > 0 && value < 4096 ? static_cast<int>(value) : 0;
}

// Called by HDF5, from C: nothing may escape it.
herr_t collect(unsigned n, const H5E_error2_t* entry, void* data) noexcept {
  auto* summary = static_cast<StackSummary*>(data);
  if (entry->desc == nullptr) return 0;
  if (summary->err == 0) summary->err = errno_in(entry->desc);
  try {
    if (n < 4) {
      if (!summary->messages.empty()) summary->messages += "; ";
      summary->messages += entry->desc;
    }
  } catch (...) {
    return -1;  // out of memory: stop walking, keep what we have
  }
  return 0;
}

}  // namespace

Error hdf5_error(std::string call, std::string subject, SourceLocation where) {
  StackSummary summary;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &summary);
  H5Eclear2(H5E_DEFAULT);
  if (summary.err != 0) {
    // The system refused (ENOSPC, EIO, ...): the errno mapper says what and
    // what to do; HDF5's messages say where in the file it was.
    const Error system = errno_error(summary.err, call, subject, where);
    return Error(system.code(), system.message(), system.call(),
                 system.detail() + (summary.messages.empty() ? "" : "; HDF5: " + summary.messages), system.hint(),
                 where);
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
