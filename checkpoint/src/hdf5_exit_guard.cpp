#include "hdf5_exit_guard.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

namespace lull::detail {

namespace {

void end_before_hdf5_cleanup(int status, void* /*unused*/) {
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

bool release_hdf5_id(hid_t id) noexcept {
  if (H5Idec_ref(id) >= 0) return true;
  if (H5Iis_valid(id) > 0) {
    static std::once_flag armed;
    std::call_once(armed, [] { ::on_exit(end_before_hdf5_cleanup, nullptr); });
  }
  H5Eclear2(H5E_DEFAULT);
  return false;
}

}  // namespace lull::detail
