// The policy file's limits: nesting bounded before toml++ parses (it
// overflowed the stack at 40,000 levels), every duration and count within a
// documented range, only regular files read; and the decision core driven
// with every field at its maximum and its minimum, from times near both ends
// of the clock, without overflow (the CI's sanitizer builds run this too).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "lull/policy/decision_core.h"
#include "lull/policy/policy_loader.h"
#include "support/policy_workout.h"
#include "support/test_process.h"

namespace lull::policy {
namespace {

using namespace std::chrono_literals;

std::string issues_of(const PolicyLoadResult& result) {
  std::string out;
  for (const PolicyIssue& issue : result.issues) out += issue.describe() + "\n";
  return out;
}

// A valid policy whose every duration and count is `extreme` ("max" or "min").
std::string extreme_policy(bool maximum) {
  const char* duration = maximum ? "\"30d\"" : "\"0s\"";
  return std::string("[node]\nslots = ") + (maximum ? "10000000" : "1") + "\nidle_before_lull = " + duration +
         "\n[scheduling]\nreserve_after = " + duration +
         "\n[resume]\nfewer_ranks = true\nmore_ranks = true"
         "\n[classes.internal]\npriority = " + (maximum ? "1000000" : "1") +
         "\npreemptible = false\ncheckpoint_interval = " + duration +
         "\n[classes.spot]\npriority = " + (maximum ? "999999" : "0") +
         "\npreemptible = true\ngrace = " + (maximum ? "\"1d\"" : "\"0s\"") + "\nmin_runtime = " + duration +
         "\ncheckpoint_interval = " + duration + "\nmax_preemptions_per_hour = " + (maximum ? "3600" : "1") +
         "\n[tenants.frontier]\nclass = \"internal\"\nslots = " + (maximum ? "10000000" : "1") +
         "\n[tenants.acme]\nclass = \"spot\"\nslots = " + (maximum ? "10000000" : "1") +
         "\n[tenants.globex]\nclass = \"spot\"\nslots = " + (maximum ? "5000000" : "1") + "\n";
}

Policy load(const std::string& text) {
  PolicyLoadResult result = load_policy_text(text, "extreme.toml");
  EXPECT_TRUE(result.policy.has_value()) << issues_of(result);
  return result.policy ? std::move(*result.policy) : Policy{};
}

// ---- nesting ----------------------------------------------------------------------------------

TEST(PolicyLimits, A40000PartTableHeaderIsRefusedBeforeParsingWithItsPosition) {
  std::string text = "[node]\nslots = 4\n[a";
  for (int i = 1; i < 40'000; ++i) text += ".a";
  text += "]\n";
  ASSERT_GT(text.size(), 80'000u);
  const PolicyLoadResult result = load_policy_text(text, "deep.toml");
  ASSERT_EQ(result.issues.size(), 1u) << issues_of(result);
  // The 16th dot of line 3 (column 1 + 2 * 16) starts the 17th part, the first too deep.
  EXPECT_EQ(result.issues[0].describe(),
            "deep.toml:3:33: TOML nesting: deeper than 16 levels (table header parts, dotted key parts, arrays and "
            "inline tables together; a policy needs 3)");
}

TEST(PolicyLimits, A40000PartDottedKeyIsRefusedBeforeParsing) {
  std::string text = "[node]\nslots = 4\n\nx";
  for (int i = 1; i < 40'000; ++i) text += ".b";
  text += " = 1\n";
  const PolicyLoadResult result = load_policy_text(text, "deep.toml");
  ASSERT_EQ(result.issues.size(), 1u) << issues_of(result);
  // Under [node] (1 level), the 15th dot (column 2 * 15) starts the key's 16th part: level 17.
  EXPECT_EQ(result.issues[0].line, 4);
  EXPECT_EQ(result.issues[0].column, 30);
  EXPECT_NE(result.issues[0].message.find("TOML nesting"), std::string::npos);
}

TEST(PolicyLimits, NestingCountsHeadersKeysArraysAndInlineTablesTogether) {
  // Header 4 + key 4 + 9 inline tables/arrays: 17 levels, each part alone shallow.
  const std::string deep = "[a.b.c.d]\ne.f.g.h = {i = {j = [[[[{k = [[1]]}]]]]}}\n";
  const PolicyLoadResult result = load_policy_text(deep, "mix.toml");
  ASSERT_EQ(result.issues.size(), 1u) << issues_of(result);
  EXPECT_EQ(result.issues[0].line, 2);
  EXPECT_NE(result.issues[0].message.find("deeper than 16"), std::string::npos);
  // Brackets, dots and quotes inside strings and comments are not nesting.
  const std::string flat = "# [[[[[[[[[[[[[[[[[[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q\n"
                           "x = \"[[[[[[[[[[[[[[[[[[[[ a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p\"\n"
                           "y = '''\n{{{{{{{{{{{{{{{{{{{{{{{{\n'''\n\"q.u.o.t.e.d\".k = 1.5\n";
  const PolicyLoadResult parsed = load_policy_text(flat, "flat.toml");
  for (const PolicyIssue& issue : parsed.issues) {
    EXPECT_EQ(issue.message.find("TOML nesting"), std::string::npos) << issue.describe();
  }
}

// A multi-line string may end with up to five quotes (two of them its
// own): the scanner once ended it at the first three, took the rest for the
// start of another string and, inside an array, lost its place for the rest
// of the file, so a 40,000-part key after it crashed toml++ again.
TEST(PolicyLimits, AMultiLineStringEndingInExtraQuotesDoesNotHideTheNestingAfterIt) {
  std::string parts = "a";
  for (int i = 1; i < 40'000; ++i) parts += ".a";
  for (const std::string& array : {std::string(R"(x = ["""a"""", 1])"), std::string(R"(x = ["""a""""", 1])"),
                                   std::string("x = ['''a'''', 1]"), std::string("x = ['''a''''', 1]")}) {
    for (const std::string& deep : {parts + " = 1", "[" + parts + "]"}) {
      const PolicyLoadResult result = load_policy_text(array + "\n" + deep + "\n", "quotes.toml");
      ASSERT_EQ(result.issues.size(), 1u) << array << "\n" << issues_of(result);
      EXPECT_EQ(result.issues[0].line, 2) << array;
      EXPECT_NE(result.issues[0].message.find("TOML nesting"), std::string::npos) << array;
    }
  }
}

TEST(PolicyLimits, ArraysNestedPastTheLimitAreRefusedBeforeToml) {
  const std::string text = "x = " + std::string(10'000, '[') + std::string(10'000, ']') + "\n";
  const PolicyLoadResult result = load_policy_text(text, "arrays.toml");
  ASSERT_EQ(result.issues.size(), 1u) << issues_of(result);
  EXPECT_EQ(result.issues[0].column, 20);  // "x = " then the 16th '[' is at 20: the 16th level of contents
  EXPECT_NE(result.issues[0].message.find("TOML nesting"), std::string::npos);
}

TEST(PolicyLimits, TextOverOneMebibyteIsRefusedWithoutAPosition) {
  const std::string text = "# " + std::string(kMaxPolicyBytes, 'x') + "\n";
  const PolicyLoadResult result = load_policy_text(text, "big.toml");
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].line, 0);
  EXPECT_EQ(result.issues[0].describe(), "big.toml: the policy is " + std::to_string(text.size()) +
                                             " bytes; the maximum is 1048576 (1 MiB)");
}

// ---- ranges -----------------------------------------------------------------------------------

TEST(PolicyLimits, EveryFieldAtItsMaximumAndItsMinimumIsAccepted) {
  const Policy high = load(extreme_policy(true));
  EXPECT_EQ(high.slots, kMaxNodeSlots);
  EXPECT_EQ(high.idle_before_lull, kMaxPolicyDuration);
  EXPECT_EQ(high.find_class("spot")->grace, kMaxGrace);
  EXPECT_EQ(high.find_class("spot")->max_preemptions_per_hour, kMaxPreemptionsPerHour);
  const Policy low = load(extreme_policy(false));
  EXPECT_EQ(low.slots, 1);
  EXPECT_EQ(low.find_class("spot")->grace, Duration(0));
}

TEST(PolicyLimits, DurationsPastTheirRangeAreRefusedWithTheRange) {
  const std::string text = R"([node]
slots = 4
idle_before_lull = "9223372036854775807ms"
[scheduling]
reserve_after = "30d1ms"
[classes.internal]
priority = 100
preemptible = false
checkpoint_interval = "106751991167d"
[classes.spot]
priority = 1
preemptible = true
grace = "1d1ms"
min_runtime = "31d"
[tenants.lab]
class = "internal"
slots = 4
[tenants.guest]
class = "spot"
slots = 2
)";
  const PolicyLoadResult result = load_policy_text(text, "p.toml");
  EXPECT_FALSE(result.policy);
  EXPECT_EQ(issues_of(result),
            "p.toml:3:20: node.idle_before_lull: \"9223372036854775807ms\" is out of range (0s..30d)\n"
            "p.toml:5:17: scheduling.reserve_after: \"30d1ms\" is out of range (0s..30d)\n"
            "p.toml:9:23: classes.internal.checkpoint_interval: \"106751991167d\" is out of range (0s..30d)\n"
            "p.toml:13:9: classes.spot.grace: \"1d1ms\" is out of range (0s..1d)\n"
            "p.toml:14:15: classes.spot.min_runtime: \"31d\" is out of range (0s..30d)\n");
}

// ---- files ------------------------------------------------------------------------------------

TEST(PolicyLimits, OnlyARegularFileIsRead) {
  lull::test::ScratchDir dir("policy-files");
  const auto fifo = dir.path() / "fifo.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  ::alarm(10);  // a blocking open or an endless read would hang: end the process instead
  const PolicyLoadResult from_fifo = load_policy_file(fifo);
  const PolicyLoadResult from_zero = load_policy_file("/dev/zero");
  ::alarm(0);
  EXPECT_EQ(issues_of(from_fifo), fifo.string() + ": cannot read the policy file: it is a FIFO, not a regular file\n");
  EXPECT_EQ(issues_of(from_zero), "/dev/zero: cannot read the policy file: it is a character device, not a regular file\n");
  EXPECT_EQ(issues_of(load_policy_file(dir.path())),
            dir.path().string() + ": cannot read the policy file: it is a directory, not a regular file\n");
  EXPECT_EQ(issues_of(load_policy_file(dir.path() / "missing.toml")),
            (dir.path() / "missing.toml").string() + ": cannot read the policy file: it does not exist\n");
  const auto big = dir.path() / "big.toml";
  std::ofstream(big) << std::string(kMaxPolicyBytes + 1, '#');
  EXPECT_EQ(issues_of(load_policy_file(big)),
            big.string() + ": cannot read the policy file: it is 1048577 bytes; the maximum is 1048576\n");
}

// ---- the decision core at the extremes --------------------------------------------------------

TEST(PolicyLimits, TheDecisionCoreKeepsItsContractWithEveryFieldAtItsExtremes) {
  // From the epoch; where sums of the policy's durations pass the end of the
  // clock (40 days and 1 hour before it); from near its start; at its end.
  const TimePoint starts[] = {TimePoint(Duration(0)), TimePoint::max() - std::chrono::hours(24 * 40),
                              TimePoint::max() - std::chrono::hours(1), TimePoint::min() + std::chrono::hours(1),
                              TimePoint::max()};
  for (const bool maximum : {true, false}) {
    Policy policy = load(extreme_policy(maximum));
    // The core allocates per slot: the same policy on 12 slots, quotas kept (two tenants fill it).
    policy.slots = maximum ? 12 : 1;
    for (Tenant& tenant : policy.tenants) tenant.slot_quota = maximum ? (tenant.name == "globex" ? 6 : 12) : 1;
    for (const TimePoint start : starts) {
      const test::WorkoutReport report = test::work_out(policy, start, 600);
      std::string broken;
      for (const std::string& line : report.broken) broken += line + "\n";
      SCOPED_TRACE(std::string(maximum ? "maximum" : "minimum") + " fields, start " +
                   std::to_string(start.time_since_epoch().count()) + " ms");
      EXPECT_TRUE(report.broken.empty()) << broken;
      EXPECT_GE(report.decisions, 9u);  // the submits at least
      if (start == TimePoint::max()) continue;  // time cannot pass there: no protection ever lapses
      EXPECT_GT(report.decisions, 20u);
      EXPECT_GT(report.starts, 3u);
      EXPECT_GT(report.notices, 0u);  // preemption happened, deadlines were computed
    }
  }
}

TEST(PolicyLimits, SaturatingTimeArithmetic) {
  EXPECT_EQ(saturating_add(TimePoint::max() - 5ms, Duration(1h)), TimePoint::max());
  EXPECT_EQ(saturating_add(TimePoint::min() + 5ms, -Duration(1h)), TimePoint::min());
  EXPECT_EQ(saturating_add(TimePoint(10ms), Duration(5ms)), TimePoint(15ms));
  EXPECT_EQ(saturating_elapsed(TimePoint::min(), TimePoint::max()), Duration::max());
  EXPECT_EQ(saturating_elapsed(TimePoint::max(), TimePoint::min()), Duration::min());
  EXPECT_EQ(saturating_elapsed(TimePoint(10ms), TimePoint(25ms)), Duration(15ms));
  // -INT64_MIN does not fit an int64: formatted without negating it.
  EXPECT_EQ(format_duration(Duration::min()), "-106751991167d7h12m55s808ms");
  EXPECT_EQ(format_duration(Duration::max()), "106751991167d7h12m55s807ms");
}

}  // namespace
}  // namespace lull::policy
