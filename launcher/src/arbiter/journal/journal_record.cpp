#include "journal_record.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "lull/base/bounded_text.h"
#include "lull/base/json_fields.h"

namespace lull::arbiter {

namespace {

constexpr int kJournalVersion = 1;
// Ranges of the journal's numbers: what this arbiter writes, with room. A
// number outside is damage, never cut to fit.
constexpr std::int64_t kMaxTime = 253'402'300'799'999;  // 9999-12-31, in ms since the epoch
// The next id after any job's must fit too.
constexpr JobId kMaxJobId = std::numeric_limits<std::int64_t>::max() - 1;
constexpr int kMaxExitCode = 255;

}  // namespace

nlohmann::json to_json(const JournalRecord& record) {
  nlohmann::json out = std::visit(
      [](const auto& r) -> nlohmann::json {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, SubmitRecord>) {
          return {{"r", "submit"}, {"job", r.job}, {"spec", to_json(r.spec)}};
        } else if constexpr (std::is_same_v<R, ExitRecord>) {
          return {{"r", "exit"}, {"job", r.job}, {"run", r.run}, {"code", r.exit_code}, {"meaning", r.meaning}};
        } else if constexpr (std::is_same_v<R, GraceRecord>) {
          return {{"r", "grace"}, {"job", r.job}};
        } else if constexpr (std::is_same_v<R, TickRecord>) {
          return {{"r", "tick"}};
        } else if constexpr (std::is_same_v<R, SlotsRecord>) {
          return {{"r", "slots"}, {"slots", r.slots}, {"reason", r.reason}};
        } else if constexpr (std::is_same_v<R, CancelRecord>) {
          return {{"r", "cancel"}, {"job", r.job}, {"by", r.by}};
        } else if constexpr (std::is_same_v<R, LaunchedRecord>) {
          return {{"r", "launched"}, {"job", r.job}, {"run", r.run}, {"pid", r.pid}, {"start_ticks", r.start_ticks}};
        } else if constexpr (std::is_same_v<R, SignalledRecord>) {
          return {{"r", "signalled"}, {"job", r.job}, {"run", r.run}, {"kill", r.kill}};
        } else {
          return {{"r", "checkpoint"}, {"job", r.job}, {"step", r.step}};
        }
      },
      record.what);
  out["t"] = record.time.time_since_epoch().count();
  return out;
}

JournalRecord record_from_json(const nlohmann::json& value) {
  const JsonFields f(value, "journal record", ErrorCode::corrupt);
  JournalRecord record;
  record.time = TimePoint(policy::Duration(f.integer<std::int64_t>("t", 0, kMaxTime)));
  const std::string kind = f.text("r");
  const auto job = [&] { return f.integer<JobId>("job", 1, kMaxJobId); };
  const auto run = [&] { return f.integer<int>("run", 1); };
  if (kind == "submit") {
    record.what = SubmitRecord{job(), job_spec_from_json(f.object("spec"))};
  } else if (kind == "exit") {
    record.what = ExitRecord{job(), run(), f.integer<int>("code", 0, kMaxExitCode), f.has("meaning") ? f.text("meaning") : ""};
  } else if (kind == "grace") {
    record.what = GraceRecord{job()};
  } else if (kind == "tick") {
    record.what = TickRecord{};
  } else if (kind == "slots") {
    record.what = SlotsRecord{f.integer<int>("slots", 0, kMaxSlots), f.has("reason") ? f.text("reason") : ""};
  } else if (kind == "cancel") {
    record.what = CancelRecord{job(), f.integer_or<uid_t>("by", 0, 0, kMaxUserId)};
  } else if (kind == "launched") {
    record.what = LaunchedRecord{job(), run(), f.integer<int>("pid", 1), f.integer<std::uint64_t>("start_ticks")};
  } else if (kind == "signalled") {
    record.what = SignalledRecord{job(), run(), f.boolean_or("kill", false)};
  } else if (kind == "checkpoint") {
    record.what = CheckpointRecord{job(), f.integer<std::uint64_t>("step")};
  } else {
    throw Error(ErrorCode::corrupt, "journal record of unknown kind " + quoted_text(kind));
  }
  return record;
}

nlohmann::json to_json(const JournalHeader& header) {
  return {{"r", "header"},          {"version", header.version},  {"policy", header.policy_text},
          {"policy_source", header.policy_source}, {"slots", header.slots}, {"next_job", header.next_job},
          {"counters", to_json(header.counters)}};
}

JournalHeader header_from_json(const nlohmann::json& value) {
  const JsonFields f(value, "journal header", ErrorCode::corrupt);
  if (f.text("r") != "header") throw Error(ErrorCode::corrupt, "the journal does not begin with its header");
  JournalHeader header;
  header.version = f.integer<int>("version");
  if (header.version != kJournalVersion) {
    throw Error(ErrorCode::corrupt, "journal version " + std::to_string(header.version) + " is not supported (this lull writes " +
                                        std::to_string(kJournalVersion) + ")");
  }
  header.policy_text = f.text("policy");
  header.policy_source = f.has("policy_source") ? f.text("policy_source") : "";
  header.slots = f.integer<int>("slots", 0, kMaxSlots);
  header.next_job = f.integer<JobId>("next_job", 1, kMaxJobId);
  if (f.has("counters")) header.counters = counters_from_json(f.object("counters"));
  return header;
}

}  // namespace lull::arbiter
