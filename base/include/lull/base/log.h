#pragma once
// lull's logging: one logger, tagged with job and rank, quiet by default.
//
// Lines look like "[lull job=train rank=3] committed snapshot step 42 ...".
// The level comes from LULL_LOG_LEVEL (trace, debug, info, warn, error, off;
// default info: one line per event a user cares about). The functions are
// thread-safe; spdlog stays an implementation detail of lull_base.

#include <string>
#include <string_view>

namespace lull::log {

enum class Level { trace, debug, info, warn, error, off };

// Sets the tags printed on every line. Call once the job and rank are known;
// before that lines carry "job=- rank=-".
void set_identity(std::string_view job, int rank);

// Overrides the level set by LULL_LOG_LEVEL.
void set_level(Level level);

void debug(std::string_view message);
void info(std::string_view message);
void warn(std::string_view message);
void error(std::string_view message);

}  // namespace lull::log
