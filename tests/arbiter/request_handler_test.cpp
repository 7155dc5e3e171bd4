// RequestHandler without sockets: what each request is answered, what it
// journals (nothing, when it is refused), and who may do what. The records
// go through a real NodeLedger, as the server's LedgerDriver applies them.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "arbiter_protocol.h"
#include "ledger_test_support.h"
#include "lull/base/error.h"
#include "request_handler.h"
#include "submission_check.h"

namespace lull::arbiter {
namespace {

using nlohmann::json;
using test::at;
using test::spec_of;

constexpr uid_t kOwner = 500;  // the arbiter's uid in these tests
const PeerCredentials kRoot{1, 0, 0};
const PeerCredentials kOwnerPeer{1, kOwner, kOwner};
const PeerCredentials kAlice{1, 1000, 1000};
const PeerCredentials kBob{1, 2000, 2000};

// What the server's LedgerDriver does with a request's records, minus the
// journal file and the processes: applies them to the ledger, in order.
class AppliedToLedger final : public RequestEffects {
 public:
  explicit AppliedToLedger(NodeLedger& ledger) : ledger_(ledger) {}
  void record(RecordKind what) override {
    records.push_back(what);
    const std::vector<Effect> effects = ledger_.apply({at(1), std::move(what)});
    applied.insert(applied.end(), effects.begin(), effects.end());
  }
  void write_event(const ArbiterEvent& event) override { events.push_back(event); }

  std::vector<RecordKind> records;
  std::vector<Effect> applied;      // what the ledger called for
  std::vector<ArbiterEvent> events; // refusals

 private:
  NodeLedger& ledger_;
};

std::optional<std::string> accept_all(const JobSpec&, const policy::Policy&, const LiveSnapshotDirs&) {
  return std::nullopt;
}

std::filesystem::path log_of(JobId job) { return "/var/lib/lull/jobs/" + std::to_string(job) + ".log"; }

struct Node {
  explicit Node(SubmissionCheck check = accept_all)
      : ledger(test::test_header()), effects(ledger), handler(ledger, effects, kOwner, std::move(check), log_of) {}

  json ask(const json& request, const PeerCredentials& peer) { return handler.handle(request.dump(), peer, at(2)); }
  json submit(const JobSpec& spec, const PeerCredentials& peer) {
    return ask(submit_request(spec), peer);
  }
  json cancel(JobId job, const PeerCredentials& peer) { return ask({{"op", "cancel"}, {"job", job}}, peer); }

  NodeLedger ledger;
  AppliedToLedger effects;
  RequestHandler handler;
};

TEST(RequestHandler, AcceptedSubmissionIsJournaledAndAnsweredWithItsId) {
  Node node;
  EXPECT_EQ(node.submit(spec_of("guest", 2), kAlice), (json{{"ok", true}, {"job", 1}}));
  ASSERT_EQ(node.effects.records.size(), 1u);
  const auto& submitted = std::get<SubmitRecord>(node.effects.records[0]);
  EXPECT_EQ(submitted.job, 1u);
  EXPECT_EQ(submitted.spec.uid, kAlice.uid) << "the job runs as the peer, whatever the request says";
  EXPECT_EQ(submitted.spec.ckpt_dir, spec_of("guest", 2).ckpt_dir);
  EXPECT_EQ(test::event_names(node.effects.applied), (std::vector<std::string>{"submit", "start"}));
  EXPECT_TRUE(node.effects.events.empty());
  EXPECT_EQ(node.submit(spec_of("guest", 1), kBob), (json{{"ok", true}, {"job", 2}}));
}

TEST(RequestHandler, RefusedSubmissionIsAnEventNotARecord) {
  Node node([](const JobSpec& spec, const policy::Policy&, const LiveSnapshotDirs&) -> std::optional<std::string> {
    return "program: \"" + spec.program + "\" does not exist";
  });
  EXPECT_EQ(node.submit(spec_of("guest", 3), kAlice),
            (json{{"ok", false}, {"error", "program: \"/bin/true\" does not exist"}}));
  EXPECT_TRUE(node.effects.records.empty());
  EXPECT_EQ(node.ledger.next_job_id(), 1u) << "no job id is used by a refusal";
  ASSERT_EQ(node.effects.events.size(), 1u);
  const ArbiterEvent& event = node.effects.events[0];
  EXPECT_EQ(event.event, "reject");
  EXPECT_EQ(event.time, at(2)) << "the time handed in";
  EXPECT_EQ(event.job, std::nullopt);
  EXPECT_EQ(event.tenant, "guest");
  EXPECT_EQ(event.job_class, "spot");
  EXPECT_EQ(event.ranks, 3);
  EXPECT_EQ(event.reason, "program: \"/bin/true\" does not exist");
}

TEST(RequestHandler, ChecksSeeThePolicyAndTheLiveSnapshotDirectories) {
  std::vector<LiveSnapshotDirs> seen;
  Node node([&](const JobSpec&, const policy::Policy& policy, const LiveSnapshotDirs& live) -> std::optional<std::string> {
    EXPECT_NE(policy.find_tenant("guest"), nullptr);
    seen.push_back(live);
    return std::nullopt;
  });
  node.submit(spec_of("guest", 2), kAlice);
  node.submit(spec_of("guest", 2, 2000), kBob);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].empty());
  EXPECT_EQ(seen[1], (LiveSnapshotDirs{{1, spec_of("guest", 2).ckpt_dir}}));
}

// The server's check, on real files: the first problem is answered as it is.
TEST(RequestHandler, TheServersChecksReadTheFileSystem) {
  std::string pattern = (std::filesystem::temp_directory_path() / "lull-handler-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  const PeerCredentials me{1, ::getuid(), ::getgid()};
  Node node(submission_problem);
  JobSpec spec = spec_of("guest", 2);
  spec.ckpt_dir = (dir / "snapshots").string();
  EXPECT_EQ(node.submit(spec, me), (json{{"ok", true}, {"job", 1}}));
  const json again = node.submit(spec, me);
  EXPECT_EQ(again["error"], "ckpt_dir: \"" + spec.ckpt_dir + "\" is job 1's snapshot directory \"" + spec.ckpt_dir +
                                "\" (one snapshot directory, one job: give another, or wait until job 1 has ended)");
  spec.ckpt_dir = (dir / "other").string();
  spec.program = (dir / "missing").string();
  EXPECT_EQ(node.submit(spec, me)["error"], "program: \"" + spec.program + "\" does not exist");
  EXPECT_EQ(node.effects.records.size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(RequestHandler, SubmissionThePolicyRejectsIsJournaledAndAnsweredWithTheReason) {
  Node node;
  const json answer = node.submit(spec_of("guest", 5), kAlice);  // more than the node
  ASSERT_EQ(node.effects.records.size(), 1u) << "the decision is the core's: the submission is recorded first";
  const EndedJob* ended = node.ledger.ended_job(1);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->outcome, "rejected");
  EXPECT_EQ(answer, (json{{"ok", false},
                          {"error", "ranks: 5 ranks exceed tenant guest's quota of 4 slots (job 1 rejected by the policy)"}}));
  EXPECT_EQ(node.ledger.next_job_id(), 2u);
}

TEST(RequestHandler, OnlyRootAndTheOwnerDrain) {
  Node node;
  node.submit(spec_of("lab", 2), kAlice);    // job 1: internal, never preempted
  node.submit(spec_of("guest", 2), kAlice);  // job 2: spot
  node.effects.records.clear();
  for (const PeerCredentials& peer : {kAlice, kBob}) {
    EXPECT_EQ(node.ask({{"op", "drain"}}, peer),
              (json{{"ok", false}, {"error", "drain: only root or the arbiter's user may drain the node"}}));
  }
  EXPECT_FALSE(node.handler.draining());
  EXPECT_TRUE(node.effects.records.empty());

  EXPECT_EQ(node.ask({{"op", "drain"}}, kOwnerPeer), (json{{"ok", true}, {"noticed", {2}}, {"running", {1}}}));
  EXPECT_TRUE(node.handler.draining());
  ASSERT_EQ(node.effects.records.size(), 1u);
  EXPECT_EQ(std::get<SlotsRecord>(node.effects.records[0]).slots, 0);
  EXPECT_EQ(std::get<SlotsRecord>(node.effects.records[0]).reason, "drain");

  EXPECT_EQ(node.ask({{"op", "drain"}}, kRoot), (json{{"ok", true}, {"noticed", {2}}, {"running", {1}}}));
  EXPECT_EQ(node.effects.records.size(), 1u) << "the slots are 0 already";
  EXPECT_EQ(node.ask({{"op", "status"}}, kAlice)["node"]["draining"], true);
}

TEST(RequestHandler, NoSubmissionWhileDraining) {
  int checked = 0;
  Node node([&](const JobSpec&, const policy::Policy&, const LiveSnapshotDirs&) -> std::optional<std::string> {
    ++checked;
    return std::nullopt;
  });
  node.ask({{"op", "drain"}}, kRoot);
  node.effects.records.clear();
  EXPECT_EQ(node.submit(spec_of("guest", 1), kAlice),
            (json{{"ok", false}, {"error", "the arbiter is draining and accepts no jobs until it is restarted"}}));
  EXPECT_EQ(checked, 0) << "refused before the file system is looked at";
  EXPECT_TRUE(node.effects.records.empty());
  ASSERT_EQ(node.effects.events.size(), 1u);
  EXPECT_EQ(node.effects.events[0].event, "reject");
}

TEST(RequestHandler, CancelOnesOwnJobUnlessRootOrOwner) {
  Node node;
  node.submit(spec_of("guest", 2), kAlice);      // job 1, running
  node.submit(spec_of("guest", 2, 2000), kBob);  // job 2, running
  node.submit(spec_of("guest", 2), kAlice);      // job 3, queued: the node is full
  ASSERT_EQ(node.ledger.status(3)->state, policy::JobState::queued);
  node.effects.records.clear();

  // Another's job reads like an unknown one.
  EXPECT_EQ(node.cancel(1, kBob), (json{{"ok", false}, {"error", "no job 1 of yours (uid 2000)"}}));
  EXPECT_EQ(node.cancel(99, kBob), (json{{"ok", false}, {"error", "no job 99 of yours (uid 2000)"}}));
  EXPECT_EQ(node.cancel(99, kOwnerPeer), (json{{"ok", false}, {"error", "no job 99"}}));
  EXPECT_EQ(node.cancel(99, kRoot), (json{{"ok", false}, {"error", "no job 99"}}));
  EXPECT_TRUE(node.effects.records.empty());

  // A running job is killed; the answer comes before it has exited.
  EXPECT_EQ(node.cancel(1, kAlice), (json{{"ok", true}, {"job", 1}, {"state", "killing"}}));
  ASSERT_EQ(node.effects.records.size(), 1u);
  EXPECT_EQ(std::get<CancelRecord>(node.effects.records[0]).job, 1u);
  EXPECT_EQ(std::get<CancelRecord>(node.effects.records[0]).by, kAlice.uid);
  EXPECT_TRUE(node.ledger.jobs().at(1).cancel_requested);

  // A queued job is gone at once.
  EXPECT_EQ(node.cancel(3, kAlice), (json{{"ok", true}, {"job", 3}, {"state", "cancelled"}}));
  EXPECT_EQ(node.cancel(3, kAlice), (json{{"ok", false}, {"error", "job 3 has already ended (cancelled)"}}));
  EXPECT_EQ(node.cancel(3, kBob), (json{{"ok", false}, {"error", "no job 3 of yours (uid 2000)"}}));
  EXPECT_EQ(node.cancel(3, kOwnerPeer), (json{{"ok", false}, {"error", "job 3 has already ended (cancelled)"}}));

  // Root and the arbiter's owner cancel anyone's.
  EXPECT_EQ(node.cancel(2, kOwnerPeer), (json{{"ok", true}, {"job", 2}, {"state", "killing"}}));
  EXPECT_EQ(std::get<CancelRecord>(node.effects.records.back()).by, kOwner);
  EXPECT_EQ(node.effects.records.size(), 3u);
}

std::vector<JobId> job_ids(const json& answer, const char* list) {
  std::vector<JobId> ids;
  for (const json& job : answer.at(list)) ids.push_back(job.at("job").get<JobId>());
  return ids;
}

TEST(RequestHandler, StatusShowsOnlyOnesOwnJobsUnlessRootOrOwner) {
  Node node;
  node.submit(spec_of("guest", 2), kAlice);
  node.submit(spec_of("guest", 2, 2000), kBob);
  node.submit(spec_of("guest", 2), kAlice);
  node.cancel(3, kAlice);
  node.effects.records.clear();
  const json alice = node.ask({{"op", "status"}}, kAlice);
  EXPECT_EQ(alice["ok"], true);
  EXPECT_EQ(job_ids(alice, "jobs"), (std::vector<JobId>{1}));
  EXPECT_EQ(job_ids(alice, "ended"), (std::vector<JobId>{3}));
  EXPECT_EQ(alice["jobs"][0]["log"], "/var/lib/lull/jobs/1.log");
  EXPECT_EQ(alice["node"]["busy_slots"], 4) << "the node's figures are everyone's";
  EXPECT_EQ(alice["node"]["draining"], false);
  const json bob = node.ask({{"op", "status"}}, kBob);
  EXPECT_EQ(job_ids(bob, "jobs"), (std::vector<JobId>{2}));
  EXPECT_TRUE(bob["ended"].empty());
  for (const PeerCredentials& peer : {kRoot, kOwnerPeer}) {
    const json all = node.ask({{"op", "status"}}, peer);
    EXPECT_EQ(job_ids(all, "jobs"), (std::vector<JobId>{1, 2}));
    EXPECT_EQ(job_ids(all, "ended"), (std::vector<JobId>{3}));
  }
  EXPECT_TRUE(node.effects.records.empty()) << "status records nothing";
}

TEST(RequestHandler, MalformedRequestsAreAnsweredNotThrown) {
  Node node;
  const auto answer = [&](std::string_view line) { return node.handler.handle(line, kAlice, at(2)); };
  EXPECT_EQ(answer("not json"), (json{{"ok", false}, {"error", "the request is not a JSON object"}}));
  EXPECT_EQ(answer(""), (json{{"ok", false}, {"error", "the request is not a JSON object"}}));
  EXPECT_EQ(answer(R"({"op": "reboot"})"),
            (json{{"ok", false}, {"error", "unknown request \"reboot\" (submit, status, cancel, drain)"}}));
  EXPECT_EQ(answer(R"({"op": "cancel"})"),
            (json{{"ok", false}, {"error", "cancel request: field \"job\" is missing: expected an integer from 1 to "
                                           "9223372036854775807"}}));
  EXPECT_EQ(answer(R"({"op": "submit", "spec": {"tenant": "guest"}})"),
            (json{{"ok", false}, {"error", "submit request: field \"class\" is missing: expected a string"}}));
  EXPECT_TRUE(node.effects.records.empty());
  EXPECT_TRUE(node.effects.events.empty()) << "a request that does not parse is no submission";
}

// What the journal could not take stops the arbiter: it never answers about it.
TEST(RequestHandler, AJournalFailureIsNotAnswered) {
  struct FailingJournal final : RequestEffects {
    void record(RecordKind) override { throw Error(ErrorCode::io, "journal.jsonl: No space left on device"); }
    void write_event(const ArbiterEvent&) override {}
  };
  NodeLedger ledger(test::test_header());
  FailingJournal journal;
  RequestHandler handler(ledger, journal, kOwner, accept_all, log_of);
  try {
    handler.handle(submit_request(spec_of("guest", 1)).dump(), kAlice, at(2));
    ADD_FAILURE() << "answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
  }
}

}  // namespace
}  // namespace lull::arbiter
