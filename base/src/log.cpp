#include "lull/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <mutex>

namespace lull::log {

namespace {

spdlog::level::level_enum level_from_env() {
  const char* value = std::getenv("LULL_LOG_LEVEL");
  if (value == nullptr || *value == '\0') return spdlog::level::info;
  auto level = spdlog::level::from_str(value);
  // from_str answers "off" for anything it does not know; only accept a real "off".
  if (level == spdlog::level::off && std::string_view(value) != "off") return spdlog::level::info;
  return level;
}

std::string pattern_for(std::string_view job, int rank) {
  std::string rank_text = rank < 0 ? "-" : std::to_string(rank);
  return "[lull job=" + std::string(job) + " rank=" + rank_text + "] %^%l%$: %v";
}

class Logger {
 public:
  Logger() : logger_(std::make_shared<spdlog::logger>(
                 "lull", std::make_shared<spdlog::sinks::stderr_color_sink_mt>())) {
    logger_->set_level(level_from_env());
    logger_->set_pattern(pattern_for("-", -1));
  }
  spdlog::logger& get() { return *logger_; }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

Logger& instance() {
  static Logger logger;
  return logger;
}

}  // namespace

void set_identity(std::string_view job, int rank) { instance().get().set_pattern(pattern_for(job, rank)); }

void set_level(Level level) {
  static constexpr spdlog::level::level_enum map[] = {
      spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
      spdlog::level::warn,  spdlog::level::err,   spdlog::level::off};
  instance().get().set_level(map[static_cast<int>(level)]);
}

void debug(std::string_view message) { instance().get().debug(message); }
void info(std::string_view message) { instance().get().info(message); }
void warn(std::string_view message) { instance().get().warn(message); }
void error(std::string_view message) { instance().get().error(message); }

}  // namespace lull::log
