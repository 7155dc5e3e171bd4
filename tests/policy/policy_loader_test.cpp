// Policy files: durations, the example file, and every kind of error with its position.
#include <algorithm>

#include <gtest/gtest.h>

#include "lull/base/error.h"
#include "lull/policy/policy_loader.h"

namespace lull::policy {
namespace {

using namespace std::chrono_literals;

const std::string kMinimal = R"([node]
slots = 4
idle_before_lull = "5m"
[classes.internal]
priority = 100
preemptible = false
[classes.spot]
priority = 1
preemptible = true
grace = "30s"
[tenants.lab]
class = "internal"
slots = 4
[tenants.guest]
class = "spot"
slots = 2
)";

std::vector<std::string> described(const PolicyLoadResult& result) {
  std::vector<std::string> lines;
  for (const PolicyIssue& issue : result.issues) lines.push_back(issue.describe());
  return lines;
}

::testing::AssertionResult has_issue(const PolicyLoadResult& result, const std::string& line) {
  const auto lines = described(result);
  if (std::find(lines.begin(), lines.end(), line) != lines.end()) return ::testing::AssertionSuccess();
  std::string all;
  for (const auto& l : lines) all += "\n  " + l;
  return ::testing::AssertionFailure() << "no issue \"" << line << "\" among:" << all;
}

TEST(Duration, ParsesUnitsAndCombinations) {
  EXPECT_EQ(parse_duration("30s"), Duration(30s));
  EXPECT_EQ(parse_duration("5m"), Duration(5min));
  EXPECT_EQ(parse_duration("1h30m"), Duration(90min));
  EXPECT_EQ(parse_duration("250ms"), Duration(250ms));
  EXPECT_EQ(parse_duration("2d"), Duration(48h));
  EXPECT_EQ(parse_duration("0s"), Duration(0));
  for (const char* bad : {"", "30", "30x", "-5m", "1.5h", "m", "5 m", "99999999999999999999s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsWhatItParses) {
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(Duration(90s)), "1m30s");
  EXPECT_EQ(format_duration(Duration(1500ms)), "1s500ms");
  for (const char* text : {"2h", "1d2h3m4s5ms", "45s"}) EXPECT_EQ(format_duration(*parse_duration(text)), text);
}

TEST(PolicyLoader, ReadsAValidPolicyWithDefaults) {
  const PolicyLoadResult result = load_policy_text(kMinimal, "p.toml");
  ASSERT_TRUE(result.policy) << (result.issues.empty() ? "" : result.issues[0].describe());
  const Policy& policy = *result.policy;
  EXPECT_EQ(policy.slots, 4);
  EXPECT_EQ(policy.idle_before_lull, Duration(5min));
  EXPECT_EQ(policy.reserve_after, Duration(1h));
  EXPECT_FALSE(policy.resume_on_fewer_ranks);
  EXPECT_EQ(policy.victim_order, default_victim_order());
  ASSERT_NE(policy.find_class("spot"), nullptr);
  EXPECT_EQ(policy.find_class("spot")->grace, Duration(30s));
  EXPECT_FALSE(policy.find_class("spot")->max_preemptions_per_hour.has_value());
  ASSERT_NE(policy.find_tenant("guest"), nullptr);
  EXPECT_EQ(policy.class_of(*policy.find_tenant("guest")).name, "spot");
  EXPECT_EQ(policy.find_tenant("guest")->slot_quota, 2);
}

TEST(PolicyLoader, CheckpointIntervalAutoLeavesItToTheJobsWithinItsBound) {
  std::string text = kMinimal;
  text.replace(text.find("grace = \"30s\""), 13, "grace = \"30s\"\ncheckpoint_interval = \"auto\"");
  const PolicyLoadResult result = load_policy_text(text, "p.toml");
  ASSERT_TRUE(result.policy) << (result.issues.empty() ? "" : result.issues[0].describe());
  const JobClass& spot = *result.policy->find_class("spot");
  EXPECT_TRUE(spot.checkpoint_interval_auto);
  EXPECT_EQ(spot.checkpoint_interval, kAutoCheckpointIntervalBound) << "what the estimates count";
  EXPECT_FALSE(result.policy->find_class("internal")->checkpoint_interval_auto);

  text.replace(text.find("\"auto\""), 6, "\"Auto\"");
  EXPECT_TRUE(has_issue(load_policy_text(text, "p.toml"),
                        "p.toml:11:23: classes.spot.checkpoint_interval: \"Auto\" is not a duration (use 30s, 5m, 1h)"));
}

TEST(PolicyLoader, TheExamplePolicyIsValid) {
  const PolicyLoadResult result = load_policy_file(LULL_EXAMPLE_POLICY);
  ASSERT_TRUE(result.policy) << (result.issues.empty() ? "" : result.issues[0].describe());
  EXPECT_EQ(result.policy->slots, 64);
  EXPECT_TRUE(result.policy->resume_on_fewer_ranks);
  EXPECT_EQ(result.policy->find_class("reserved")->max_preemptions_per_hour, 1);
}

TEST(PolicyLoader, ReportsEveryErrorWithLineColumnAndField) {
  const std::string text = R"([node]
slots = 0
idle_before_lull = "10m"
[classes.internal]
priority = 100
preemptible = false
grace = "1m"
[classes.tenant]
priority = "high"
preemptible = true
grace = "30x"
[tenants.acme]
class = "tennant"
slots = 8
)";
  const PolicyLoadResult result = load_policy_text(text, "policy.toml");
  EXPECT_FALSE(result.policy);
  EXPECT_TRUE(has_issue(result, "policy.toml:2:9: node.slots: 0 is out of range (1..10000000)"));
  EXPECT_TRUE(has_issue(result, "policy.toml:7:9: classes.internal.grace: has no effect: the class is not preemptible"));
  EXPECT_TRUE(has_issue(result, "policy.toml:9:12: classes.tenant.priority: expected an integer, got a string"));
  EXPECT_TRUE(has_issue(result, "policy.toml:11:9: classes.tenant.grace: \"30x\" is not a duration (use 30s, 5m, 1h)"));
  EXPECT_TRUE(has_issue(result, "policy.toml:13:9: tenants.acme.class: no class \"tennant\" (classes: internal, tenant)"));
  EXPECT_EQ(result.issues.size(), 5u);
  // In file order.
  for (std::size_t i = 1; i < result.issues.size(); ++i) EXPECT_LE(result.issues[i - 1].line, result.issues[i].line);
}

TEST(PolicyLoader, UnknownKeysAreErrorsWithASuggestion) {
  std::string text = kMinimal;
  text.replace(text.find("grace"), 5, "gracee");
  text += "[extra]\nx = 1\n";
  const PolicyLoadResult result = load_policy_text(text, "p.toml");
  EXPECT_FALSE(result.policy);
  const auto lines = described(result);
  ASSERT_EQ(lines.size(), 3u) << lines[0];
  EXPECT_EQ(lines[0], "p.toml:7:1: classes.spot.grace: missing (required)");
  EXPECT_NE(lines[1].find("p.toml:10:1: classes.spot.gracee: unknown key \"gracee\" (did you mean \"grace\"?)"),
            std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("p.toml:17:2: extra: unknown key \"extra\""), std::string::npos) << lines[2];
}

TEST(PolicyLoader, MissingSectionsAndBadNames) {
  const PolicyLoadResult result = load_policy_text("[node]\nslots = 2\nidle_before_lull = \"0s\"\n[classes.\"a/b\"]\npriority = 1\npreemptible = false\n", "p.toml");
  EXPECT_FALSE(result.policy);
  const auto lines = described(result);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("tenants: missing (required)") != std::string::npos; }));
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("p.toml:4:10: classes.a/b: class name") != std::string::npos; }));
}

TEST(PolicyLoader, VictimOrderAndLimits) {
  std::string text = kMinimal + "[victims]\norder = [\"newest\", \"biggest\", \"newest\"]\n";
  text.replace(text.find("grace = \"30s\""), 13, "grace = \"30s\"\nmax_preemptions_per_hour = 0");
  const PolicyLoadResult result = load_policy_text(text, "p.toml");
  EXPECT_TRUE(has_issue(result, "p.toml:11:28: classes.spot.max_preemptions_per_hour: 0 would forbid every preemption: write preemptible = false instead"));
  const auto lines = described(result);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("\"biggest\" is not a victim criterion") != std::string::npos; }));
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("\"newest\" is listed twice") != std::string::npos; }));
}

TEST(PolicyLoader, SyntaxErrorIsOneIssueWithItsPosition) {
  const PolicyLoadResult result = load_policy_text("[node\nslots = 1\n", "p.toml");
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].line, 1);
  EXPECT_NE(result.issues[0].describe().find("p.toml:1:"), std::string::npos);
  EXPECT_NE(result.issues[0].message.find("TOML syntax"), std::string::npos);
}

TEST(PolicyLoader, AMissingFileIsAnIssue) {
  const PolicyLoadResult result = load_policy_file("/nonexistent/policy.toml");
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_THROW(load_policy_or_throw("/nonexistent/policy.toml"), Error);
}

}  // namespace
}  // namespace lull::policy
