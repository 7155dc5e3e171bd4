#include "journal_record.h"

#include <nlohmann/json.hpp>
#include <type_traits>

#include "json_fields.h"

namespace lull::arbiter {

namespace {

constexpr int kJournalVersion = 1;

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
  record.time = TimePoint(policy::Duration(f.integer("t")));
  const std::string kind = f.text("r");
  const auto job = [&] { return static_cast<JobId>(f.integer("job")); };
  const auto run = [&] { return static_cast<int>(f.integer("run")); };
  if (kind == "submit") {
    record.what = SubmitRecord{job(), job_spec_from_json(value["spec"])};
  } else if (kind == "exit") {
    record.what = ExitRecord{job(), run(), static_cast<int>(f.integer("code")), f.has("meaning") ? f.text("meaning") : ""};
  } else if (kind == "grace") {
    record.what = GraceRecord{job()};
  } else if (kind == "tick") {
    record.what = TickRecord{};
  } else if (kind == "slots") {
    record.what = SlotsRecord{static_cast<int>(f.integer("slots")), f.has("reason") ? f.text("reason") : ""};
  } else if (kind == "cancel") {
    record.what = CancelRecord{job(), static_cast<uid_t>(f.integer_or("by", 0))};
  } else if (kind == "launched") {
    record.what = LaunchedRecord{job(), run(), static_cast<int>(f.integer("pid")),
                                 static_cast<std::uint64_t>(f.integer("start_ticks"))};
  } else if (kind == "signalled") {
    record.what = SignalledRecord{job(), run(), value.value("kill", false)};
  } else if (kind == "checkpoint") {
    record.what = CheckpointRecord{job(), static_cast<std::uint64_t>(f.integer("step"))};
  } else {
    throw Error(ErrorCode::corrupt, "journal record of unknown kind \"" + kind + "\"");
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
  header.version = static_cast<int>(f.integer("version"));
  if (header.version != kJournalVersion) {
    throw Error(ErrorCode::corrupt, "journal version " + std::to_string(header.version) + " is not supported (this lull writes " +
                                        std::to_string(kJournalVersion) + ")");
  }
  header.policy_text = f.text("policy");
  header.policy_source = f.has("policy_source") ? f.text("policy_source") : "";
  header.slots = static_cast<int>(f.integer("slots"));
  header.next_job = static_cast<JobId>(f.integer("next_job"));
  if (value.contains("counters")) header.counters = counters_from_json(value["counters"]);
  return header;
}

}  // namespace lull::arbiter
