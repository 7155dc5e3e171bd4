#include "rate_limited_warning.h"

#include "lull/base/log.h"

namespace lull::arbiter {

bool RateLimitedWarning::note(const std::string& what, Clock::time_point now) {
  if (last_logged_ && now - *last_logged_ < interval_) {
    ++unsaid_;
    return false;
  }
  std::string line = what;
  if (unsaid_ > 0) {
    line += " (and " + std::to_string(unsaid_) + " more time" + (unsaid_ == 1 ? "" : "s") + " since the last such line)";
  }
  log::warn(line);
  last_logged_ = now;
  unsaid_ = 0;
  return true;
}

}  // namespace lull::arbiter
