// Fuzz target: the arbiter's journal as a restarted arbiter replays it
// (launcher/src/arbiter): ArbiterJournal::parse() (every line a typed record,
// every number in range), the header's policy, every record applied to a
// NodeLedger in order (the decision core rebuilt), then what the restart
// plans (plan_recovery, with a launcher that finds every run gone) and
// what the arbiter reports (status, metrics). Any bytes: either an error
// naming the journal's file and a whole line of it (corrupt), or the
// policy's own refusal (invalid_argument), or contents that read back as
// they are written again, and a ledger that agrees with its decision core
// after every record, leaves no live run unaccounted for after the
// recovery, and reports well-formed status and metrics. Nothing else
// escapes.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arbiter_journal.h"
#include "arbiter_recovery.h"
#include "fuzz_check.h"
#include "job_launcher.h"
#include "lull/base/error.h"
#include "metrics_text.h"
#include "node_ledger.h"
#include "status_report.h"

namespace {

using namespace lull;
using namespace lull::arbiter;

constexpr const char* kWhere = "fuzz-journal.jsonl";

// Every run the journal says is going is gone, without an exit file (the
// node rebooted): recovery must end each one with a reason or start it.
class GoneRunsLauncher final : public JobLauncher {
 public:
  ActiveRun launch(const RunRequest&) override { throw Error(ErrorCode::io, "fuzz: nothing is started"); }
  std::optional<ActiveRun> adopt(const RunRequest&, const std::optional<ProcessRef>&) override { return std::nullopt; }
  std::optional<RunEnd> ended_while_away(const RunRequest&) override { return std::nullopt; }
  void send_notice(const ActiveRun&) override {}
  void kill(const ActiveRun&) override {}
  RunEnd collect(ActiveRun&) override { return {1, "fuzz"}; }
  void exit_journaled(const RunRequest&) noexcept override {}
};

// A bad line is named as `kWhere:<line>: `, and it is a whole line of the text.
void check_error(const Error& error, std::string_view text) {
  FUZZ_CHECK(error.code() == ErrorCode::corrupt, "a journal error that is not corrupt");
  const std::string& message = error.message();
  const std::string prefix = std::string(kWhere) + ":";
  FUZZ_CHECK(message.rfind(prefix, 0) == 0, "a journal error that does not name the file");
  const std::size_t digits_end = message.find_first_not_of("0123456789", prefix.size());
  FUZZ_CHECK(digits_end != std::string::npos && digits_end > prefix.size() && message.compare(digits_end, 2, ": ") == 0,
             "a journal error that does not name the line");
  const auto line = std::stoull(message.substr(prefix.size(), digits_end - prefix.size()));
  FUZZ_CHECK(line >= 1 && line <= static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')),
             "a journal error naming a line the text does not have whole");
}

// The arbiter writes what it reads: the contents written out again (as
// ArbiterJournal writes them) read back the same.
void check_rewrites(const JournalContents& contents) {
  std::string text = to_json(*contents.header).dump() + "\n";
  for (const JournalRecord& record : contents.records) text += to_json(record).dump() + "\n";
  const JournalContents again = ArbiterJournal::parse(text, kWhere);
  FUZZ_CHECK(!again.torn_tail && again.whole_bytes == text.size(), "a rewritten journal read as torn");
  FUZZ_CHECK(again.header && to_json(*again.header) == to_json(*contents.header), "a header not read back as written");
  FUZZ_CHECK(again.records.size() == contents.records.size(), "records not read back as written");
  for (std::size_t i = 0; i < again.records.size(); ++i) {
    FUZZ_CHECK(to_json(again.records[i]) == to_json(contents.records[i]), "a record not read back as written");
  }
}

// The ledger and its decision core agree on every job, and no slot is held twice.
void check_ledger(const NodeLedger& ledger) {
  std::set<SlotId> held;
  std::size_t held_count = 0;
  for (const auto& [id, job] : ledger.jobs()) {
    FUZZ_CHECK(id == job.id && id < ledger.next_job_id(), "a job id at or past next_job");
    FUZZ_CHECK(ledger.status(id).has_value(), "a job the ledger holds and the decision core does not");
    if (!ledger.has_live_run(id)) continue;
    held.insert(job.slots.begin(), job.slots.end());
    held_count += job.slots.size();
  }
  FUZZ_CHECK(held.size() == held_count, "a slot held by two runs");
  FUZZ_CHECK(held.empty() || (*held.begin() >= 0 && *held.rbegin() < kMaxSlots), "a slot outside any node");
  const policy::ClusterSummary summary = ledger.core().summary();
  FUZZ_CHECK(std::cmp_equal(summary.busy_slots, held_count), "the core and the ledger count held slots apart");
  FUZZ_CHECK(summary.running_jobs + summary.draining_jobs + summary.waiting_jobs == ledger.jobs().size(),
             "a job the decision core holds and the ledger does not");
  FUZZ_CHECK(ledger.ended().size() <= NodeLedger::kEndedKept, "more ended jobs kept than the bound");
  for (const EndedJob& ended : ledger.ended()) {
    FUZZ_CHECK(ended.id < ledger.next_job_id() && ledger.jobs().count(ended.id) == 0, "an ended job still held");
  }
}

// Prometheus text: comments, or `name{labels} value` with a finite value;
// every lull metric counts something, so none is negative.
void check_metrics(const std::string& text) {
  FUZZ_CHECK(!text.empty() && text.back() == '\n', "metrics not made of whole lines");
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    FUZZ_CHECK(line.rfind("lull_arbiter_", 0) == 0, "a metrics line that is not a lull metric");
    const std::string value = line.substr(line.rfind(' ') + 1);
    char* parsed_end = nullptr;
    const double number = std::strtod(value.c_str(), &parsed_end);
    FUZZ_CHECK(!value.empty() && *parsed_end == '\0' && std::isfinite(number), "a metric whose value is not a number");
    FUZZ_CHECK(number >= 0, "a negative count, total or gauge");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  JournalContents contents;
  try {
    contents = ArbiterJournal::parse(text, kWhere);
  } catch (const Error& error) {
    check_error(error, text);
    return 0;
  }
  // Only a last line without its newline is left out, and reading resumes after the last whole line.
  FUZZ_CHECK(contents.whole_bytes <= size && (contents.whole_bytes == 0 || text[contents.whole_bytes - 1] == '\n'),
             "whole_bytes not at the end of a line");
  FUZZ_CHECK(contents.torn_tail == (contents.whole_bytes < size), "a torn tail not reported, or reported without one");
  if (!contents.header) {
    FUZZ_CHECK(contents.records.empty() && contents.whole_bytes == 0, "records without a header");
    return 0;
  }
  check_rewrites(contents);
  std::optional<NodeLedger> ledger;
  try {
    ledger.emplace(*contents.header);
  } catch (const Error& error) {
    FUZZ_CHECK(error.code() == ErrorCode::invalid_argument, "a policy refusal that is not invalid_argument");
    return 0;
  }
  for (const JournalRecord& record : contents.records) {
    ledger->apply(record);  // effects are dropped on replay, as the arbiter does
    check_ledger(*ledger);
  }
  // The restart: every live run ends (an exit record) or is started again
  // (a launch, from the plan or from what the exits free).
  GoneRunsLauncher launcher;
  const RecoveryPlan plan = plan_recovery(*ledger, launcher);
  FUZZ_CHECK(plan.adopted.empty(), "a run adopted that the launcher did not find");
  std::set<std::pair<JobId, int>> launches;
  const auto note_launches = [&](const std::vector<Effect>& effects) {
    for (const Effect& effect : effects) {
      if (const auto* launch = std::get_if<LaunchEffect>(&effect)) launches.emplace(launch->job, launch->run);
    }
  };
  note_launches(plan.effects);
  const TimePoint now = ledger->last_time() + policy::Duration(1);
  for (const RecordKind& what : plan.records) note_launches(ledger->apply({now, what}));
  check_ledger(*ledger);
  for (const auto& [id, job] : ledger->jobs()) {
    FUZZ_CHECK(!ledger->has_live_run(id) || launches.count({id, job.run}) == 1, "a live run left neither ended nor started");
  }
  // What the arbiter then reports must encode (strings from the journal are valid UTF-8).
  const std::string status =
      status_report(*ledger, 0, true, false, [](JobId job) { return std::to_string(job) + ".log"; }).dump();
  FUZZ_CHECK(!status.empty(), "an empty status");
  check_metrics(metrics_text(*ledger, false));
  return 0;
}
