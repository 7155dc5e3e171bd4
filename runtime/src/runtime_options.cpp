#include <signal.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "lull/base/error.h"
#include "lull/base/names.h"
#include "lull/base/notice_file.h"
#include "lull/runtime.h"

namespace lull {

namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

Error bad_variable(const char* name, const char* value, const char* expected) {
  return Error(ErrorCode::invalid_argument,
               std::string("environment variable ") + name + "=\"" + value + "\" is not " + expected);
}

std::uint64_t parse_count(const char* name, const char* value) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || value[0] == '-') throw bad_variable(name, value, "a whole number");
  return n;
}

double parse_seconds(const char* name, const char* value, const char* expected = "a number of seconds >= 0") {
  char* end = nullptr;
  errno = 0;
  double s = std::strtod(value, &end);
  if (errno != 0 || end == value || *end != '\0' || !(s >= 0) || !std::isfinite(s)) throw bad_variable(name, value, expected);
  return s;
}

int parse_signal(const char* variable, std::string name) {
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  static constexpr struct {
    const char* name;
    int number;
  } known[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"INT", SIGINT}, {"HUP", SIGHUP}, {"URG", SIGURG}};
  for (const auto& k : known) {
    if (name == k.name) return k.number;
  }
  throw bad_variable(variable, name.c_str(), "a signal name (USR1, USR2, TERM, INT, HUP, URG)");
}

}  // namespace

RuntimeOptions RuntimeOptions::from_environment() {
  RuntimeOptions o;
  if (const char* v = env("LULL_JOB")) o.job = v;
  validate_name("job name (LULL_JOB)", o.job);
  if (const char* v = env("LULL_CKPT_DIR")) o.ckpt_dir = v;
  if (const char* v = env("LULL_EVERY_STEPS")) o.every_steps = parse_count("LULL_EVERY_STEPS", v);
  if (const char* v = env("LULL_EVERY_SECONDS")) {
    o.every_seconds_auto = std::string_view(v) == "auto";
    if (!o.every_seconds_auto) o.every_seconds = parse_seconds("LULL_EVERY_SECONDS", v, "a number of seconds >= 0 or auto");
  }
  if (const char* v = env("LULL_MEAN_SECONDS_BETWEEN_NOTICES")) {
    o.mean_seconds_between_notices = parse_seconds("LULL_MEAN_SECONDS_BETWEEN_NOTICES", v);
  }
  if (const char* v = env("LULL_KEEP")) {
    auto keep = parse_count("LULL_KEEP", v);
    if (keep < 1 || keep > 1000) throw bad_variable("LULL_KEEP", v, "between 1 and 1000");
    o.keep = static_cast<int>(keep);
  }
  if (const char* v = env("LULL_NOTICE_SIGNALS")) {
    std::string list = v;
    std::size_t start = 0;
    while (start <= list.size()) {
      std::size_t comma = list.find(',', start);
      std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) o.notice_signals.push_back(parse_signal("LULL_NOTICE_SIGNALS", item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (const char* v = env(kNoticeFileEnv)) o.notice_file = v;
  if (const char* v = env("LULL_GRACE_SECONDS")) o.default_grace_seconds = parse_seconds("LULL_GRACE_SECONDS", v);
  if (auto seconds = collective_timeout_from_environment()) o.collective_timeout_seconds = *seconds;
  return o;
}

}  // namespace lull
