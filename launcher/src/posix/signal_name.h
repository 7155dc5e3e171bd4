#pragma once
// "SIGTERM" for SIGTERM: signal names for log lines and messages.

#include <string.h>

#include <string>

namespace lull::posix {

inline std::string signal_name(int signal) {
  const char* abbreviation = ::sigabbrev_np(signal);
  return abbreviation != nullptr ? std::string("SIG") + abbreviation : "signal " + std::to_string(signal);
}

}  // namespace lull::posix
