// Every integer field of a request and of the journal is checked against its
// range (never cut to fit), every path and argument against NUL and control
// characters, and a snapshot directory against the live jobs'.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <string>
#include <variant>

#include "arbiter_journal.h"
#include "arbiter_protocol.h"
#include "journal_record.h"
#include "submission_check.h"
#include "support/gtest_helpers.h"

namespace lull::arbiter {
namespace {

using nlohmann::json;
using test::error_of;

json good_spec() {
  return {{"tenant", "acme"}, {"class", "spot"}, {"ranks", 2}, {"program", "/bin/true"},
          {"ckpt_dir", "/ckpt/a"}, {"cwd", "/home/a"}};
}

TEST(SubmitRequest, EveryIntegerFieldIsChecked) {
  const PeerCredentials peer{1, 1000, 1000};
  for (const char* field : {"ranks", "min_ranks", "max_ranks"}) {
    for (const json& bad : {json(4294967297LL), json(-1), json(1.5), json(kMaxRanks + 1)}) {
      json request = {{"op", "submit"}, {"spec", good_spec()}};
      request["spec"][field] = bad;
      const std::string message = error_of([&] { spec_from_submit_request(request, peer); });
      EXPECT_NE(message.find(std::string("field \"") + field + "\" must be an integer from"), std::string::npos)
          << field << " = " << bad << ": " << message;
    }
  }
  json request = {{"op", "submit"}, {"spec", good_spec()}};
  request["spec"].erase("cwd");
  EXPECT_EQ(error_of([&] { spec_from_submit_request(request, peer); }),
            "submit request: field \"cwd\" is missing: expected a string");
  EXPECT_EQ(error_of([&] { spec_from_submit_request({{"op", "submit"}, {"spec", 3}}, peer); }),
            "submit request: field \"spec\" must be a JSON object (got 3)");
}

TEST(ParseRequest, EachOpOrOneRefusal) {
  const PeerCredentials peer{1, 1000, 1000};
  EXPECT_TRUE(std::holds_alternative<requests::Status>(parse_request(R"({"op": "status"})", peer)));
  EXPECT_TRUE(std::holds_alternative<requests::Drain>(parse_request(R"({"op": "drain"})", peer)));
  EXPECT_EQ(std::get<requests::Cancel>(parse_request(R"({"op": "cancel", "job": 7})", peer)).job, 7u);
  const Request submit = parse_request(json{{"op", "submit"}, {"spec", good_spec()}}.dump(), peer);
  EXPECT_EQ(std::get<requests::Submit>(submit).spec.uid, 1000u) << "the identity is the peer's";
  EXPECT_EQ(error_of([&] { parse_request("not json", peer); }), "the request is not a JSON object");
  EXPECT_EQ(error_of([&] { parse_request("[1]", peer); }), "the request is not a JSON object");
  EXPECT_EQ(error_of([&] { parse_request(R"({"op": 5})", peer); }), "unknown request \"\" (submit, status, cancel, drain)");
  const std::string long_op = json{{"op", std::string(100000, 'o') + "\n"}}.dump();
  const std::string refusal = error_of([&] { parse_request(long_op, peer); });
  EXPECT_LT(refusal.size(), 300u) << "the unknown op is echoed bounded";
  EXPECT_NE(refusal.find("more bytes)"), std::string::npos);
  for (const char* bad : {R"({"op": "cancel", "job": -1})", R"({"op": "cancel", "job": 0})", R"({"op": "cancel", "job": 1.5})",
                          R"({"op": "cancel", "job": "7"})", R"({"op": "cancel"})"}) {
    EXPECT_NE(error_of([&] { parse_request(bad, peer); }).find("cancel request: field \"job\""), std::string::npos) << bad;
  }
}

TEST(SpecText, PathsAndArgumentsAreWellFormed) {
  JobSpec spec;
  spec.program = "/bin/true";
  spec.ckpt_dir = "/ckpt/a";
  spec.cwd = "/";
  EXPECT_EQ(spec_text_problem(spec), std::nullopt);
  const auto problem_with = [&](std::string JobSpec::*field, std::string value) {
    JobSpec changed = spec;
    changed.*field = std::move(value);
    return spec_text_problem(changed).value_or("(none)");
  };
  EXPECT_EQ(problem_with(&JobSpec::program, std::string("/bin/tr\0ue", 10)),
            "program: \"/bin/tr\\x00ue\" contains a NUL character");
  EXPECT_EQ(problem_with(&JobSpec::cwd, "/home/\x1b"), "cwd: \"/home/\\x1b\" contains a control character");
  for (const char* bad : {"/ckpt//a", "/ckpt/./a", "/ckpt/../a", "/ckpt/a/", "/ckpt/a/.", "/ckpt/a/.."}) {
    EXPECT_NE(problem_with(&JobSpec::ckpt_dir, bad).find("must be a normal path"), std::string::npos) << bad;
  }
  EXPECT_EQ(problem_with(&JobSpec::ckpt_dir, "/ckpt/a..b/.c"), "(none)");
  EXPECT_EQ(problem_with(&JobSpec::program, "true"), "program: \"true\" must be an absolute path");
  EXPECT_NE(problem_with(&JobSpec::ckpt_dir, "/" + std::string(5000, 'd')).find("more than a path may be"), std::string::npos);
  JobSpec with_args = spec;
  with_args.args = {"fine\ttab", std::string("cut\0here", 8)};
  EXPECT_EQ(spec_text_problem(with_args).value_or(""),
            "args[1]: \"cut\\x00here\" contains a NUL character (a program's argument ends at the first one)");
}

json record(json fields) {
  fields["t"] = 1700000000000LL;
  return fields;
}

TEST(JournalRecord, EveryIntegerFieldIsChecked) {
  struct Case {
    json record;
    const char* field;
  };
  json submit = record({{"r", "submit"}, {"job", 1}, {"spec", good_spec()}});
  submit["spec"]["uid"] = 0;
  submit["spec"]["gid"] = 0;
  submit["spec"]["args"] = json::array();
  EXPECT_NO_THROW(record_from_json(submit));
  const auto with = [](json value, const char* key, json bad) {
    value[key] = std::move(bad);
    return value;
  };
  const auto spec_with = [&](const char* key, json bad) {
    json value = submit;
    value["spec"][key] = std::move(bad);
    return value;
  };
  const json exit = record({{"r", "exit"}, {"job", 1}, {"run", 1}, {"code", 75}});
  const json launched = record({{"r", "launched"}, {"job", 1}, {"run", 1}, {"pid", 42}, {"start_ticks", 9}});
  const json slots = record({{"r", "slots"}, {"slots", 4}});
  const json cancel = record({{"r", "cancel"}, {"job", 1}, {"by", 0}});
  const json checkpoint = record({{"r", "checkpoint"}, {"job", 1}, {"step", 10}});
  for (const json& good : {exit, launched, slots, cancel, checkpoint}) EXPECT_NO_THROW(record_from_json(good)) << good;
  const Case cases[] = {
      {with(exit, "t", -1), "t"},
      {with(exit, "t", 9223372036854775807LL), "t"},
      {with(exit, "job", 0), "job"},
      {with(exit, "job", 18446744073709551615ULL), "job"},
      {with(exit, "run", 4294967297LL), "run"},
      {with(exit, "run", 0), "run"},
      {with(exit, "code", 256), "code"},
      {with(exit, "code", -1), "code"},
      {with(exit, "code", 1.0), "code"},
      {with(launched, "pid", 0), "pid"},
      {with(launched, "pid", 4294967297LL), "pid"},
      {with(launched, "start_ticks", -1), "start_ticks"},
      {with(slots, "slots", kMaxSlots + 1), "slots"},
      {with(slots, "slots", -4), "slots"},
      {with(cancel, "by", -1), "by"},
      {with(checkpoint, "step", -10), "step"},
      {with(checkpoint, "step", 1.5), "step"},
      {spec_with("ranks", 4294967297LL), "ranks"},
      {spec_with("ranks", 0), "ranks"},
      {spec_with("min_ranks", -1), "min_ranks"},
      {spec_with("max_ranks", 2.0), "max_ranks"},
      {spec_with("uid", 4294967295LL), "uid"},
      {spec_with("gid", -1), "gid"},
  };
  for (const Case& c : cases) {
    try {
      record_from_json(c.record);
      ADD_FAILURE() << "accepted: " << c.record;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt);
      EXPECT_NE(e.message().find(std::string("field \"") + c.field + "\" must be"), std::string::npos) << e.message();
    }
  }
  EXPECT_NE(error_of([&] { record_from_json(with(record({{"r", "signalled"}, {"job", 1}, {"run", 1}}), "kill", "yes")); })
                .find("field \"kill\" must be true or false"),
            std::string::npos);
  EXPECT_NE(error_of([&] { record_from_json(spec_with("program", std::string("/bin/\0x", 7))); }).find("NUL character"),
            std::string::npos);
}

TEST(JournalParse, NamesFileAndLineAndDropsOnlyATornTail) {
  const std::string header = R"({"r":"header","version":1,"policy":"","slots":4,"next_job":1})";
  const std::string tick = R"({"r":"tick","t":5})";
  JournalContents contents = ArbiterJournal::parse(header + "\n" + tick + "\n" + R"({"r":"ti)", "j.jsonl");
  EXPECT_TRUE(contents.header);
  EXPECT_EQ(contents.records.size(), 1u);
  EXPECT_TRUE(contents.torn_tail);
  EXPECT_EQ(contents.whole_bytes, header.size() + tick.size() + 2);
  EXPECT_EQ(error_of([&] { ArbiterJournal::parse(header + "\n{\"r\":\"tick\",\"t\":-5}\n" + tick + "\n", "j.jsonl"); }),
            "j.jsonl:2: journal record: field \"t\" must be an integer from 0 to 253402300799999 (got -5)");
  EXPECT_EQ(error_of([&] { ArbiterJournal::parse(header + "\nnot json\n", "j.jsonl"); }), "j.jsonl:2: not JSON");
  EXPECT_FALSE(ArbiterJournal::parse("", "j.jsonl").header);
}

TEST(JournalParse, ASubmitReusingAJobIdIsCorrupt) {
  const std::string header = R"({"r":"header","version":1,"policy":"","slots":4,"next_job":3})";
  const auto submit = [](JobId job) {
    JobSpec spec;
    spec.tenant = "acme";
    spec.job_class = "spot";
    spec.program = "/bin/true";
    spec.ckpt_dir = "/ckpt/" + std::to_string(job);
    spec.cwd = "/tmp";
    return to_json(JournalRecord{TimePoint(policy::Duration(5)), SubmitRecord{job, spec}}).dump() + "\n";
  };
  EXPECT_EQ(ArbiterJournal::parse(header + "\n" + submit(3) + submit(7), "j.jsonl").records.size(), 2u);
  EXPECT_EQ(error_of([&] { ArbiterJournal::parse(header + "\n" + submit(3) + submit(3), "j.jsonl"); }),
            "j.jsonl:3: submit of job 3: job ids were given up to 3 already; each submission has a new one");
  EXPECT_EQ(error_of([&] { ArbiterJournal::parse(header + "\n" + submit(2), "j.jsonl"); }),
            "j.jsonl:2: submit of job 2: job ids were given up to 2 already; each submission has a new one");
  // The id after the largest one must fit: the largest is refused.
  EXPECT_NE(error_of([&] { ArbiterJournal::parse(header + "\n" + submit(std::numeric_limits<JobId>::max()), "j.jsonl"); })
                .find("field \"job\" must be an integer from 1 to 9223372036854775806"),
            std::string::npos);
}

TEST(JournalHeader, IntegersAreChecked) {
  const json header = {{"r", "header"}, {"version", 1}, {"policy", ""}, {"slots", 4}, {"next_job", 1}};
  EXPECT_NO_THROW(header_from_json(header));
  for (const auto& [key, bad] : {std::pair<const char*, json>{"slots", -1}, {"slots", 4294967300LL},
                                 {"next_job", 0}, {"version", 4294967297LL}}) {
    json damaged = header;
    damaged[key] = bad;
    EXPECT_THROW(header_from_json(damaged), Error) << key << " = " << bad;
  }
  json counters = header;
  counters["counters"] = {{"classes", {{"spot", {{"submitted", "many"}, {"work_lost_seconds", "x"}}}}},
                          {"notice_to_exit", {{"cumulative", json::array({"a"})}, {"sum", "b"}}}};
  EXPECT_NO_THROW(header_from_json(counters)) << "statistics of the wrong type count as 0";
  counters["counters"] = {{"classes", {{"spot", {{"work_lost_seconds", -1e300}}}}}};
  EXPECT_EQ(header_from_json(counters).counters.by_class.at("spot").work_lost_seconds, 0.0)
      << "a negative total of seconds counts as 0";
}

class SnapshotDirFree : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/lull-snapshot-dir-free-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    std::filesystem::create_directories(root_ / "ckpt" / "a");
    std::filesystem::create_directory_symlink(root_ / "ckpt", root_ / "alias");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::optional<std::string> check(const std::filesystem::path& dir) {
    JobSpec spec;
    spec.ckpt_dir = dir.string();
    return check_snapshot_dir_free(spec, {{7, (root_ / "ckpt" / "a").string()}});
  }

  std::filesystem::path root_;
};

TEST_F(SnapshotDirFree, SameInsideOrHoldingIsRefused) {
  const std::string theirs = "job 7's snapshot directory \"" + (root_ / "ckpt" / "a").string() + "\"";
  EXPECT_NE(check(root_ / "ckpt" / "a").value_or("").find(" is " + theirs), std::string::npos);
  EXPECT_NE(check(root_ / "alias" / "a").value_or("").find(" is " + theirs), std::string::npos) << "through a link";
  EXPECT_NE(check(root_ / "ckpt" / "a" / "b" / "c").value_or("").find(" lies inside " + theirs), std::string::npos);
  EXPECT_NE(check(root_ / "ckpt").value_or("").find(" holds " + theirs), std::string::npos);
  EXPECT_EQ(check(root_ / "ckpt" / "ab"), std::nullopt) << "a sibling sharing a prefix";
  EXPECT_EQ(check(root_ / "ckpt" / "b"), std::nullopt);
}

}  // namespace
}  // namespace lull::arbiter
