// NodeLedger on its own: what each record does to a job and what it calls
// for, what status and metrics report of it, that replaying its journal
// records (through their JSON lines) rebuilds the same ledger, and the bound
// on the ended jobs it keeps.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job_launcher.h"
#include "ledger_test_support.h"
#include "metrics_text.h"
#include "status_report.h"

namespace lull::arbiter {
namespace {

using nlohmann::json;
using test::at;
using test::event_names;
using test::spec_of;

std::filesystem::path log_of(JobId job) { return "/logs/" + std::to_string(job) + ".log"; }

std::vector<LaunchEffect> launches(const std::vector<Effect>& effects) {
  std::vector<LaunchEffect> out;
  for (const Effect& effect : effects) {
    if (const auto* launch = std::get_if<LaunchEffect>(&effect)) out.push_back(*launch);
  }
  return out;
}

const ArbiterEvent& event_named(const std::vector<Effect>& effects, const std::string& name) {
  for (const Effect& effect : effects) {
    const auto* event = std::get_if<EventEffect>(&effect);
    if (event != nullptr && event->event.event == name) return event->event;
  }
  throw std::runtime_error("no \"" + name + "\" event");
}

// A ledger and the records it was given, as the journal holds them.
struct Ledger {
  Ledger() : ledger(test::test_header()) {}

  std::vector<Effect> apply(double seconds, RecordKind what) {
    records.push_back({at(seconds), std::move(what)});
    return ledger.apply(records.back());
  }

  NodeLedger ledger;
  std::vector<JournalRecord> records;
};

TEST(NodeLedger, SubmitStartsTheJobOnFreeSlots) {
  Ledger l;
  const std::vector<Effect> effects = l.apply(0, SubmitRecord{1, spec_of("guest", 2)});
  EXPECT_EQ(event_names(effects), (std::vector<std::string>{"submit", "start"}));
  EXPECT_EQ(event_named(effects, "submit").reason, "/bin/true");
  EXPECT_EQ(event_named(effects, "start").reason, "run 1 on 2 slots");
  ASSERT_EQ(launches(effects).size(), 1u);
  EXPECT_EQ(launches(effects)[0].job, 1u);
  EXPECT_EQ(launches(effects)[0].run, 1);
  EXPECT_EQ(launches(effects)[0].slots, (std::vector<SlotId>{0, 1}));
  const LedgerJob& job = l.ledger.jobs().at(1);
  EXPECT_EQ(job.run, 1);
  EXPECT_EQ(job.slots, (std::vector<SlotId>{0, 1}));
  EXPECT_EQ(job.process, std::nullopt) << "not launched yet";
  EXPECT_EQ(l.ledger.status(1)->state, policy::JobState::running);
  EXPECT_TRUE(l.ledger.has_live_run(1));
  EXPECT_TRUE(l.ledger.any_live_run());
  EXPECT_EQ(l.ledger.next_job_id(), 2u);
  EXPECT_EQ(l.ledger.last_time(), at(0));
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").submitted, 1u);
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").started, 1u);
  EXPECT_EQ(l.ledger.busy_slots_by_class(), (std::map<std::string, int>{{"internal", 0}, {"spot", 2}}));
}

TEST(NodeLedger, LaunchedAndSignalledRecordsConcernTheCurrentRunOnly) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 2)});
  EXPECT_TRUE(l.apply(0, LaunchedRecord{1, 2, 99, 7}).empty());
  EXPECT_EQ(l.ledger.jobs().at(1).process, std::nullopt) << "run 2 has not begun: a stale record";
  EXPECT_TRUE(l.apply(0, LaunchedRecord{1, 1, 4242, 123456}).empty());
  ASSERT_TRUE(l.ledger.jobs().at(1).process);
  EXPECT_EQ(l.ledger.jobs().at(1).process->pid, 4242);
  EXPECT_EQ(l.ledger.jobs().at(1).process->start_ticks, 123456u);
  l.apply(0, SignalledRecord{1, 1, false});
  EXPECT_TRUE(l.ledger.jobs().at(1).notice_sent);
  EXPECT_FALSE(l.ledger.jobs().at(1).kill_sent);
  l.apply(0, SignalledRecord{1, 1, true});
  EXPECT_TRUE(l.ledger.jobs().at(1).kill_sent);
}

// guest fills the node; lab (internal) preempts it; guest checkpoints,
// exits 75 and resumes from its snapshot once lab has finished.
TEST(NodeLedger, NoticeExitAndResumeFromTheSnapshot) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 4)});
  l.apply(0, LaunchedRecord{1, 1, 100, 1});
  const std::vector<Effect> preempt = l.apply(60, SubmitRecord{2, spec_of("lab", 2)});
  EXPECT_EQ(event_names(preempt), (std::vector<std::string>{"submit", "notice", "wait"}));
  EXPECT_EQ(event_named(preempt, "notice").reason, "preempted for job 2; grace 2m");
  EXPECT_EQ(event_named(preempt, "notice").job, 1u);
  EXPECT_TRUE(launches(preempt).empty()) << "lab waits for guest's slots";
  EXPECT_EQ(l.ledger.status(1)->state, policy::JobState::noticed);
  EXPECT_EQ(l.ledger.jobs().at(1).noticed_at, at(60));
  EXPECT_EQ(l.ledger.jobs().at(1).deadline, at(180));
  EXPECT_EQ(l.ledger.next_wakeup(), at(180));
  EXPECT_TRUE(l.ledger.due_at(at(179.9)).empty());
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").preemptions, 1u);
  EXPECT_EQ(run_request_of(l.ledger, 1).mean_seconds_between_notices, std::nullopt) << "no run has ended yet";

  const std::vector<Effect> checkpoint = l.apply(62, CheckpointRecord{1, 500});
  EXPECT_EQ(event_named(checkpoint, "checkpoint").reason, "committed snapshot step 500");
  EXPECT_TRUE(l.apply(62.5, CheckpointRecord{1, 400}).empty()) << "an older step is no news";
  EXPECT_EQ(l.ledger.jobs().at(1).last_step, 500u);

  const std::vector<Effect> exit = l.apply(63, ExitRecord{1, 1, 75, "preempted: snapshot at step 500"});
  EXPECT_EQ(event_names(exit), (std::vector<std::string>{"exit", "start", "wait"}));
  EXPECT_EQ(event_named(exit, "wait").job, 1u) << "guest waits to resume";
  EXPECT_EQ(event_named(exit, "exit").exit_code, 75);
  EXPECT_EQ(event_named(exit, "exit").step, 500u);
  ASSERT_EQ(launches(exit).size(), 1u);
  EXPECT_EQ(launches(exit)[0].job, 2u);
  EXPECT_EQ(l.ledger.status(1)->state, policy::JobState::resumable);
  EXPECT_FALSE(l.ledger.has_live_run(1));
  EXPECT_EQ(l.ledger.counters().notice_to_exit.count, 1u);
  EXPECT_DOUBLE_EQ(l.ledger.counters().notice_to_exit.sum, 3.0);
  EXPECT_DOUBLE_EQ(l.ledger.counters().by_class.at("spot").work_lost_seconds, 1.0) << "from the snapshot at 62 s";
  // One notice in 63 s of spot runs: what the next spot run is told (LULL_MEAN_SECONDS_BETWEEN_NOTICES).
  EXPECT_DOUBLE_EQ(l.ledger.counters().by_class.at("spot").run_seconds, 63.0);
  EXPECT_EQ(run_request_of(l.ledger, 1).mean_seconds_between_notices, 63.0);
  EXPECT_EQ(run_request_of(l.ledger, 2).mean_seconds_between_notices, std::nullopt) << "lab was never noticed";

  const std::vector<Effect> resume = l.apply(100, ExitRecord{2, 1, 0, "finished"});
  EXPECT_EQ(event_names(resume), (std::vector<std::string>{"exit", "finish", "resume"}));
  EXPECT_EQ(event_named(resume, "resume").reason, "run 2 on 4 slots, from snapshot step 500");
  ASSERT_NE(l.ledger.ended_job(2), nullptr);
  EXPECT_EQ(l.ledger.ended_job(2)->outcome, "finished");
  EXPECT_EQ(l.ledger.ended_job(2)->exit_code, 0);
  EXPECT_EQ(l.ledger.jobs().at(1).run, 2);
  EXPECT_EQ(l.ledger.jobs().at(1).process, std::nullopt);
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").resumed, 1u);
  EXPECT_EQ(l.ledger.counters().by_class.at("internal").finished, 1u);
}

TEST(NodeLedger, GraceExpiryKills) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 4)});
  l.apply(10, SubmitRecord{2, spec_of("lab", 4)});
  EXPECT_TRUE(l.ledger.due_at(at(129.9)).empty());
  const std::vector<RecordKind> due = l.ledger.due_at(at(130));  // 2 minutes after the notice
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<GraceRecord>(due[0]));
  EXPECT_EQ(std::get<GraceRecord>(due[0]).job, 1u);
  const std::vector<Effect> kill = l.apply(130, due[0]);
  EXPECT_EQ(event_named(kill, "kill").reason, "grace_expired");
  ASSERT_EQ(kill.size(), 2u);
  EXPECT_EQ(std::get<KillEffect>(kill[1]).job, 1u);
  EXPECT_EQ(l.ledger.status(1)->state, policy::JobState::killed);
  EXPECT_EQ(l.ledger.jobs().at(1).deadline, std::nullopt);
  EXPECT_TRUE(l.ledger.due_at(at(140)).empty()) << "one grace record per deadline";
  EXPECT_TRUE(l.apply(131, GraceRecord{1}).empty()) << "a second one is stale";
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").kills, 1u);
}

TEST(NodeLedger, AFailedExitEndsTheJobWithItsMeaning) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 2)});
  EXPECT_TRUE(l.apply(5, ExitRecord{1, 2, 1, "stale"}).empty()) << "not the current run";
  const std::vector<Effect> failed = l.apply(30, ExitRecord{1, 1, 3, "the job's ranks failed (mpirun exit 3)"});
  EXPECT_EQ(event_names(failed), (std::vector<std::string>{"exit", "failed"}));
  const EndedJob* ended = l.ledger.ended_job(1);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->outcome, "failed");
  EXPECT_EQ(ended->reason, "exit code 3: the job's ranks failed (mpirun exit 3)");
  EXPECT_EQ(ended->exit_code, 3);
  EXPECT_EQ(ended->runs, 1);
  EXPECT_EQ(ended->uid, 1000u);
  EXPECT_EQ(ended->ended, at(30));
  EXPECT_TRUE(l.ledger.jobs().empty());
  EXPECT_FALSE(l.ledger.any_live_run());
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").failed, 1u);
  EXPECT_DOUBLE_EQ(l.ledger.counters().by_class.at("spot").work_lost_seconds, 30.0) << "no snapshot: all of the run";
}

TEST(NodeLedger, CancelAndRejectEndJobs) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 4)});
  l.apply(0, SubmitRecord{2, spec_of("guest", 1)});  // queued: the node is full
  const std::vector<Effect> cancel = l.apply(1, CancelRecord{2, 1000});
  EXPECT_EQ(event_names(cancel), (std::vector<std::string>{"cancel"}));
  EXPECT_EQ(event_named(cancel, "cancel").reason, "cancelled by uid 1000");
  EXPECT_EQ(l.ledger.ended_job(2)->outcome, "cancelled");

  const std::vector<Effect> reject = l.apply(2, SubmitRecord{3, spec_of("guest", 5)});  // more than the node
  EXPECT_EQ(event_names(reject), (std::vector<std::string>{"submit", "reject"}));
  EXPECT_EQ(l.ledger.ended_job(3)->outcome, "rejected");
  EXPECT_EQ(l.ledger.ended_job(3)->reason, event_named(reject, "reject").reason);
  EXPECT_FALSE(l.ledger.ended_job(3)->reason.empty());
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").rejected, 1u);
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").cancelled, 1u);

  // A running job's cancel kills it; it ends, cancelled, when it exits.
  const std::vector<Effect> kill = l.apply(3, CancelRecord{1, 0});
  EXPECT_EQ(event_names(kill), (std::vector<std::string>{"cancel", "kill"}));
  EXPECT_TRUE(l.apply(3.5, CancelRecord{1, 0}).empty()) << "asked once";
  l.apply(4, ExitRecord{1, 1, 137, "killed"});
  EXPECT_EQ(l.ledger.ended_job(1)->outcome, "cancelled");
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").cancelled, 2u);
}

TEST(NodeLedger, RecordsOutOfOrderTakeTheLatestTime) {
  Ledger l;
  l.apply(10, SubmitRecord{1, spec_of("guest", 1)});
  const std::vector<Effect> effects = l.apply(5, SubmitRecord{2, spec_of("guest", 1)});
  EXPECT_EQ(l.ledger.last_time(), at(10));
  EXPECT_EQ(event_named(effects, "submit").time, at(10));
}

TEST(NodeLedger, SlotsLeavingTheNodeNoticeTheSpotJobsOnThem) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("lab", 2)});
  l.apply(0, SubmitRecord{2, spec_of("guest", 2)});
  const std::vector<Effect> drain = l.apply(1, SlotsRecord{0, "drain"});
  EXPECT_EQ(event_named(drain, "notice").job, 2u);
  EXPECT_EQ(event_named(drain, "notice").reason, "its slots left the node; grace 2m");
  EXPECT_EQ(l.ledger.slots(), 0);
  EXPECT_EQ(l.ledger.status(1)->state, policy::JobState::running) << "internal jobs are never preempted";
}

TEST(NodeLedger, StatusReportsWhatItHolds) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 2)});
  l.apply(1, LaunchedRecord{1, 1, 4242, 9});
  l.apply(2, CheckpointRecord{1, 10});
  l.apply(3, SubmitRecord{2, spec_of("guest", 2, 2000)});
  l.apply(4, SubmitRecord{3, spec_of("guest", 2, 2000)});  // queued: the node is full
  l.apply(5, CancelRecord{3, 2000});
  const json all = status_report(l.ledger, 0, true, false, log_of);
  EXPECT_EQ(all["node"], (json{{"slots", 4},
                               {"free_slots", 0},
                               {"lull_slots", 0},
                               {"busy_slots", 4},
                               {"busy_by_class", {{"internal", 0}, {"spot", 4}}},
                               {"running_jobs", 2},
                               {"waiting_jobs", 0},
                               {"draining", false}}));
  ASSERT_EQ(all["jobs"].size(), 2u);
  const json& first = all["jobs"][0];
  EXPECT_EQ(first["job"], 1);
  EXPECT_EQ(first["state"], "running");
  EXPECT_EQ(first["pid"], 4242);
  EXPECT_EQ(first["step"], 10);
  EXPECT_EQ(first["slots"], (json{0, 1}));
  EXPECT_EQ(first["submitted"], 1700000000.0);
  EXPECT_EQ(first["started"], 1700000000.0);
  EXPECT_EQ(first["log"], "/logs/1.log");
  EXPECT_EQ(first["args"], (json{"--steps", "10"}));
  EXPECT_EQ(all["jobs"][1]["pid"], nullptr);
  ASSERT_EQ(all["ended"].size(), 1u);
  EXPECT_EQ(all["ended"][0], (json{{"job", 3}, {"tenant", "guest"}, {"class", "spot"}, {"uid", 2000},
                                   {"outcome", "cancelled"}, {"exit_code", nullptr}, {"step", nullptr},
                                   {"reason", "cancelled"}, {"runs", 0}, {"ended", 1700000005.0}}));
  const json alice = status_report(l.ledger, 1000, false, true, log_of);
  EXPECT_EQ(alice["jobs"].size(), 1u);
  EXPECT_TRUE(alice["ended"].empty());
  EXPECT_EQ(alice["node"]["draining"], true);
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(NodeLedger, MetricsReportItsCountersAndGauges) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 4)});
  l.apply(10, SubmitRecord{2, spec_of("lab", 2)});
  l.apply(11.5, ExitRecord{1, 1, 75, "preempted"});
  const std::string text = metrics_text(l.ledger, false);
  for (const char* line : {"lull_arbiter_slots 4", "lull_arbiter_slots_busy{class=\"internal\"} 2",
                           "lull_arbiter_slots_busy{class=\"spot\"} 0", "lull_arbiter_jobs{state=\"running\"} 1",
                           "lull_arbiter_jobs{state=\"waiting\"} 1", "lull_arbiter_draining 0",
                           "lull_arbiter_jobs_submitted_total{class=\"spot\"} 1",
                           "lull_arbiter_jobs_submitted_total{class=\"internal\"} 1",
                           "lull_arbiter_jobs_started_total{class=\"internal\"} 1",
                           "lull_arbiter_preemptions_total{class=\"spot\"} 1",
                           "lull_arbiter_work_lost_seconds_total{class=\"spot\"} 11.5",
                           "lull_arbiter_run_seconds_total{class=\"spot\"} 11.5",
                           "lull_arbiter_notice_to_exit_seconds_bucket{le=\"1\"} 0",
                           "lull_arbiter_notice_to_exit_seconds_bucket{le=\"2\"} 1",
                           "lull_arbiter_notice_to_exit_seconds_count 1", "lull_arbiter_notice_to_exit_seconds_sum 1.5"}) {
    EXPECT_TRUE(has_line(text, line)) << line << "\nin:\n" << text;
  }
  EXPECT_TRUE(has_line(metrics_text(l.ledger, true), "lull_arbiter_draining 1"));
}

// Everything a ledger holds, as JSON, to compare two ledgers.
json state_of(const NodeLedger& ledger) {
  json jobs = json::array();
  for (const auto& [id, job] : ledger.jobs()) {
    const auto ms = [](const std::optional<TimePoint>& t) {
      return t ? json(t->time_since_epoch().count()) : json(nullptr);
    };
    jobs.push_back({{"spec", to_json(job.spec)},
                    {"run", job.run},
                    {"slots", job.slots},
                    {"pid", job.process ? json(job.process->pid) : json(nullptr)},
                    {"start_ticks", job.process ? json(job.process->start_ticks) : json(nullptr)},
                    {"notice_sent", job.notice_sent},
                    {"kill_sent", job.kill_sent},
                    {"cancel_requested", job.cancel_requested},
                    {"run_started", job.run_started.time_since_epoch().count()},
                    {"noticed_at", ms(job.noticed_at)},
                    {"deadline", ms(job.deadline)},
                    {"last_step_at", ms(job.last_step_at)},
                    {"last_exit_code", job.last_exit_code ? json(*job.last_exit_code) : json(nullptr)},
                    {"last_exit_meaning", job.last_exit_meaning}});
  }
  const std::optional<TimePoint> wakeup = ledger.next_wakeup();
  return {{"status", status_report(ledger, 0, true, false, log_of)},
          {"metrics", metrics_text(ledger, false)},
          {"counters", to_json(ledger.counters())},
          {"jobs", jobs},
          {"next_job", ledger.next_job_id()},
          {"last_time", ledger.last_time().time_since_epoch().count()},
          {"next_wakeup", wakeup ? json(wakeup->time_since_epoch().count()) : json(nullptr)}};
}

// The life of a busy node: every kind of record, each job ending differently.
Ledger busy_node() {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("guest", 4)});
  l.apply(0.1, LaunchedRecord{1, 1, 100, 1000});
  l.apply(30, CheckpointRecord{1, 300});
  l.apply(40, SubmitRecord{2, spec_of("lab", 2)});
  l.apply(40, SignalledRecord{1, 1, false});
  l.apply(41, SubmitRecord{3, spec_of("guest", 2, 2000)});
  l.apply(42, SubmitRecord{4, spec_of("guest", 9, 2000)});  // rejected
  l.apply(43, CheckpointRecord{1, 310});
  l.apply(44, ExitRecord{1, 1, 75, "preempted"});
  l.apply(44.1, LaunchedRecord{2, 1, 200, 2000});
  l.apply(44.2, LaunchedRecord{3, 1, 300, 3000});  // beside lab
  l.apply(45, CancelRecord{3, 2000});
  l.apply(45, SignalledRecord{3, 1, true});
  l.apply(45.5, ExitRecord{3, 1, 137, "killed"});
  l.apply(46, SubmitRecord{5, spec_of("guest", 2)});
  l.apply(60, TickRecord{});
  l.apply(70, ExitRecord{2, 1, 0, "finished"});
  l.apply(71, SlotsRecord{3, "arbiter started with 3 slots"});  // notices job 5 on slot 3
  return l;
}

TEST(NodeLedger, ReplayingItsRecordsRebuildsTheSameLedger) {
  const Ledger original = busy_node();
  ASSERT_GE(original.ledger.jobs().size(), 1u);
  ASSERT_EQ(original.ledger.ended().size(), 3u);
  const JournalHeader header = header_from_json(json::parse(to_json(test::test_header()).dump()));
  NodeLedger replayed(header);
  for (const JournalRecord& record : original.records) {
    replayed.apply(record_from_json(json::parse(to_json(record).dump())));  // as a journal line
  }
  EXPECT_EQ(state_of(replayed), state_of(original.ledger));
  ASSERT_EQ(replayed.ended().size(), original.ledger.ended().size());
  for (std::size_t i = 0; i < replayed.ended().size(); ++i) {
    const EndedJob& a = replayed.ended()[i];
    const EndedJob& b = original.ledger.ended()[i];
    EXPECT_EQ(std::tie(a.id, a.tenant, a.job_class, a.uid, a.outcome, a.exit_code, a.last_step, a.reason, a.runs, a.ended),
              std::tie(b.id, b.tenant, b.job_class, b.uid, b.outcome, b.exit_code, b.last_step, b.reason, b.runs, b.ended));
  }
}

// Compaction starts a journal whose header carries the ids and totals on.
TEST(NodeLedger, AHeaderCarriesJobIdsAndCountersOver) {
  const Ledger original = busy_node();
  JournalHeader compacted = test::test_header();
  compacted.next_job = original.ledger.next_job_id();
  compacted.counters = original.ledger.counters();
  const NodeLedger restarted(header_from_json(json::parse(to_json(compacted).dump())));
  EXPECT_EQ(restarted.next_job_id(), 6u);
  EXPECT_EQ(to_json(restarted.counters()), to_json(original.ledger.counters()));
  EXPECT_TRUE(has_line(metrics_text(restarted, false), "lull_arbiter_jobs_submitted_total{class=\"spot\"} 4"));
  EXPECT_TRUE(restarted.jobs().empty());
}

TEST(NodeLedger, KeepsTheLastThousandEndedJobs) {
  Ledger l;
  l.apply(0, SubmitRecord{1, spec_of("lab", 4)});  // holds the node: the rest queue
  const JobId first = 2, last = first + NodeLedger::kEndedKept + 4;
  for (JobId id = first; id <= last; ++id) {
    l.apply(1, SubmitRecord{id, spec_of("guest", 1)});
    l.apply(1, CancelRecord{id, 1000});
  }
  EXPECT_EQ(l.ledger.ended().size(), NodeLedger::kEndedKept);
  EXPECT_EQ(l.ledger.ended().front().id, first + 5);
  EXPECT_EQ(l.ledger.ended().back().id, last);
  EXPECT_EQ(l.ledger.ended_job(first + 4), nullptr) << "the oldest are forgotten";
  EXPECT_NE(l.ledger.ended_job(first + 5), nullptr);
  EXPECT_EQ(l.ledger.jobs().size(), 1u);
  EXPECT_EQ(l.ledger.counters().by_class.at("spot").cancelled, NodeLedger::kEndedKept + 5) << "the totals are not bounded";
}

}  // namespace
}  // namespace lull::arbiter
