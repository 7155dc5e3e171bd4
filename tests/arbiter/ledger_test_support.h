#pragma once
// What the ledger's and the request handler's unit tests share: the
// journal header of the small node's policy (tests/policy/small_node_policy.h:
// 4 slots, "lab" internal, "guest" spot with 2 minutes of grace, no idle
// time before a lull), times and specs.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "journal_record.h"
#include "node_ledger.h"
#include "small_node_policy.h"

namespace lull::arbiter::test {

inline JournalHeader test_header() {
  JournalHeader header;
  header.policy_text = lull::test::kSmallNodePolicy;
  header.policy_source = "test-policy.toml";
  header.slots = 4;
  return header;
}

// 2023-11-14 22:13:20 UTC, and `seconds` after it.
inline TimePoint at(double seconds) {
  return TimePoint(policy::Duration(1'700'000'000'000 + static_cast<std::int64_t>(seconds * 1000)));
}

inline JobSpec spec_of(const std::string& tenant, int ranks, uid_t uid = 1000) {
  JobSpec spec;
  spec.tenant = tenant;
  spec.job_class = tenant == "lab" ? "internal" : "spot";
  spec.ranks = ranks;
  spec.program = "/bin/true";
  spec.args = {"--steps", "10"};
  spec.ckpt_dir = "/ckpt/" + tenant + "-" + std::to_string(uid) + "-" + std::to_string(ranks);
  spec.cwd = "/";
  spec.uid = uid;
  spec.gid = uid;
  return spec;
}

// The events among `effects`, by name ("submit", "start", ...).
inline std::vector<std::string> event_names(const std::vector<Effect>& effects) {
  std::vector<std::string> names;
  for (const Effect& effect : effects) {
    if (const auto* event = std::get_if<EventEffect>(&effect)) names.push_back(event->event.event);
  }
  return names;
}

}  // namespace lull::arbiter::test
