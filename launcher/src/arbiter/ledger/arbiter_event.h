#pragma once
// ArbiterEvent — one line of the arbiter's events file (event_log.h), the
// format `lull report` reads. Every line is one JSON object with all of
// these keys (null when not known):
//   time       Unix seconds (float)
//   event      submit | start | resume | wait | notice | checkpoint | kill |
//              exit | finish | failed | cancel | reject
//   job        the job id (a number); null for a submission refused before
//              it got one
//   tenant, class
//   slots      [slot ids] the job holds (start, resume, notice, kill, exit),
//              else the ones it last held ([] before it ever ran)
//   ranks      ranks of the current or last run (requested, before a start)
//   step       newest committed snapshot step (checkpoint; exit and later when known)
//   exit_code  exit: `lull run`'s code; finish/failed: the last one
//   reason     in words: why it waits, why it is noticed or killed, what the
//              exit meant, why it was refused
// Text fields are written bounded (lull/base/bounded_text.h): tenant and
// class at most 255 bytes, reason 1024, so a client's request cannot make a
// line long.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "lull/policy/duration.h"
#include "lull/policy/events.h"

namespace lull::arbiter {

struct ArbiterEvent {
  policy::TimePoint time;  // Unix epoch, milliseconds
  std::string event;
  std::optional<policy::JobId> job;
  std::string tenant;
  std::string job_class;
  std::vector<int> slots;
  int ranks = 0;
  std::optional<std::uint64_t> step;
  std::optional<int> exit_code;
  std::string reason;
};

nlohmann::json to_json(const ArbiterEvent& event);

}  // namespace lull::arbiter
