#include "event_log.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "lull/base/bounded_text.h"
#include "lull/base/errno_error.h"
#include "lull/base/log.h"

namespace lull::arbiter {

namespace {

// A refused submission carries the client's own tenant and class names,
// whatever their length: each text field is bounded (with a marker).
constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxReasonBytes = 1024;

nlohmann::json name_or_null(const std::string& name) {
  if (name.empty()) return nullptr;
  return bounded_text(name, kMaxNameBytes);
}

}  // namespace

nlohmann::json to_json(const ArbiterEvent& event) {
  const auto optional = [](const auto& value) -> nlohmann::json {
    if (value) return *value;
    return nullptr;
  };
  return {{"time", static_cast<double>(event.time.time_since_epoch().count()) / 1000.0},
          {"event", event.event},
          {"job", optional(event.job)},
          {"tenant", name_or_null(event.tenant)},
          {"class", name_or_null(event.job_class)},
          {"slots", event.slots},
          {"ranks", event.ranks},
          {"step", optional(event.step)},
          {"exit_code", optional(event.exit_code)},
          {"reason", bounded_text(event.reason, kMaxReasonBytes)}};
}

EventLog::EventLog(const std::filesystem::path& path)
    : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640)) {
  if (!fd_.valid()) throw_errno("open", path.string());
}

void EventLog::write(const ArbiterEvent& event) noexcept {
  try {
    const std::string line = to_json(event).dump() + "\n";
    ssize_t n = 0;
    do {
      n = ::write(fd_.get(), line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(line.size())) {
      log::warn("events file " + path_.string() + ": short write: " + (n < 0 ? std::strerror(errno) : "disk full?"));
    }
  } catch (const std::exception& e) {
    log::warn(std::string("events file: ") + e.what());
  }
}

}  // namespace lull::arbiter
