#include "connection_limits.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>

namespace lull::arbiter {

std::size_t open_descriptors() {
  std::error_code error;
  std::size_t count = 0;
  for (std::filesystem::directory_iterator entry("/proc/self/fd", error), end; !error && entry != end;
       entry.increment(error)) {
    ++count;
  }
  return count;  // the iterator's own descriptor included: one too many, on the safe side
}

std::size_t clients_within_descriptor_limit(std::size_t wanted, std::size_t spare) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return wanted;
  const std::size_t used = open_descriptors() + spare;
  const std::size_t room = limit.rlim_cur > used ? static_cast<std::size_t>(limit.rlim_cur) - used : 0;
  return std::max(kMinClients, std::min(wanted, room));
}

}  // namespace lull::arbiter
