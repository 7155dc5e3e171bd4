#pragma once
// The records of the arbiter's journal: everything that happened to the node,
// in order, each with its time. Two kinds:
//   - inputs of the decision core (submit, exit, grace, tick, slots, cancel):
//     replayed through a fresh DecisionCore after a restart, they rebuild its
//     state exactly (it is deterministic);
//   - facts about the processes (launched, signalled, checkpoint): what the
//     arbiter did about the core's actions and saw of the jobs, so a restarted
//     arbiter knows which process to adopt and what is still to be done.
// One JSON object per line: {"r": "<kind>", "t": <unix ms>, ...fields}.

#include <cstdint>
#include <string>
#include <variant>

#include <nlohmann/json_fwd.hpp>

#include "arbiter_counters.h"
#include "job_spec.h"
#include "lull/policy/duration.h"
#include "lull/policy/events.h"

namespace lull::arbiter {

using policy::JobId;
using policy::TimePoint;  // milliseconds since the Unix epoch, never decreasing along the journal

// The most slots a node may have (as in the policy file's [node] slots).
inline constexpr int kMaxSlots = 10'000'000;

struct SubmitRecord {
  JobId job = 0;
  JobSpec spec;
};
// A run of the job ended (`run` numbers the job's runs from 1).
struct ExitRecord {
  JobId job = 0;
  int run = 0;
  int exit_code = 0;
  std::string meaning;
};
struct GraceRecord {
  JobId job = 0;
};
struct TickRecord {};
// The node's slots changed: `--slots` at a restart, 0 on drain.
struct SlotsRecord {
  int slots = 0;
  std::string reason;
};
struct CancelRecord {
  JobId job = 0;
  uid_t by = 0;
};
// `lull run` of a run is running as `pid`, whose /proc start time is `start_ticks`.
struct LaunchedRecord {
  JobId job = 0;
  int run = 0;
  int pid = 0;
  std::uint64_t start_ticks = 0;
};
// The notice (or the kill) of a run was sent.
struct SignalledRecord {
  JobId job = 0;
  int run = 0;
  bool kill = false;
};
// A newer committed snapshot appeared in the job's snapshot directory.
struct CheckpointRecord {
  JobId job = 0;
  std::uint64_t step = 0;
};

using RecordKind = std::variant<SubmitRecord, ExitRecord, GraceRecord, TickRecord, SlotsRecord, CancelRecord,
                                LaunchedRecord, SignalledRecord, CheckpointRecord>;

struct JournalRecord {
  TimePoint time;
  RecordKind what;
};

// The journal's first line: what the records are replayed against.
struct JournalHeader {
  int version = 1;
  std::string policy_text;    // the policy file's content when the journal began
  std::string policy_source;  // its path, for messages
  int slots = 0;              // the node's slots when the journal began
  JobId next_job = 1;         // job ids below it were used by earlier journals
  ArbiterCounters counters;   // totals of earlier journals
};

nlohmann::json to_json(const JournalRecord& record);
nlohmann::json to_json(const JournalHeader& header);
// Throw lull::Error(corrupt) for a line that is not such a record: a field
// missing, of the wrong type or out of range (times 0..year 9999, job ids
// 1..2^63-2, runs from 1, exit codes 0..255, pids from 1, slots 0..kMaxSlots,
// uids and gids 0..2^32-2).
JournalRecord record_from_json(const nlohmann::json& value);
JournalHeader header_from_json(const nlohmann::json& value);

}  // namespace lull::arbiter
