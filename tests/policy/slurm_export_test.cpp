// export_to_slurm (lull/policy/slurm_export.h): what a policy becomes in
// slurm.conf and in lull-sbatch, and the policies it refuses with the field
// and the reason. The files it writes are used on a real cluster by
// tests/slurm/ (the preemption test runs on an exported policy).
#include "lull/policy/slurm_export.h"

#include <string>

#include <gtest/gtest.h>

#include "lull/policy/policy_loader.h"
#include "small_node_policy.h"

namespace lull::policy {
namespace {

Policy load(const std::string& text) {
  PolicyLoadResult loaded = load_policy_text(text, "test.toml");
  EXPECT_TRUE(loaded.issues.empty()) << loaded.issues.front().describe();
  return *loaded.policy;
}

// kSmallNodePolicy with `from` (which must occur once) replaced by `to`.
std::string small_node_with(const std::string& from, const std::string& to) {
  std::string text = test::kSmallNodePolicy;
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

std::vector<std::string> issues_of(const std::string& text) {
  const SlurmExportResult result = export_to_slurm(load(text), "test.toml", text, "/opt/lull/bin/lull");
  EXPECT_EQ(result.exported.has_value(), result.issues.empty());
  std::vector<std::string> described;
  for (const PolicyIssue& issue : result.issues) described.push_back(issue.describe());
  return described;
}

TEST(SlurmExport, AClassBecomesAPartitionAndItsGraceTheNotice) {
  const SlurmExportResult result =
      export_to_slurm(load(test::kSmallNodePolicy), "small.toml", test::kSmallNodePolicy, "/opt/lull/bin/lull");
  ASSERT_TRUE(result.exported) << result.issues.front().describe();
  const std::string& conf = result.exported->slurm_conf;
  for (const char* line : {"PreemptType=preempt/partition_prio\n", "PreemptMode=REQUEUE\n",
                           "SlurmctldParameters=preempt_send_user_signal\n", "RequeueExit=75\n",
                           "PartitionName=internal Nodes=ALL PriorityTier=100 PreemptMode=OFF State=UP\n",
                           "PartitionName=spot Nodes=ALL PriorityTier=10 PreemptMode=REQUEUE GraceTime=120 State=UP\n"}) {
    EXPECT_NE(conf.find(line), std::string::npos) << line << "in:\n" << conf;
  }
  EXPECT_LT(conf.find("PartitionName=internal"), conf.find("PartitionName=spot")) << "highest priority first";
  EXPECT_EQ(conf.find("PreemptExemptTime"), std::string::npos) << "min_runtime 0s: no exempt time";

  const std::string& script = result.exported->job_script;
  EXPECT_EQ(script.rfind("#!/usr/bin/env bash\n", 0), 0u);
  EXPECT_NE(script.find("lull='/opt/lull/bin/lull'\n"), std::string::npos) << script;
  EXPECT_NE(script.find("'guest') partition=spot sbatch_options=(--signal=B:TERM@120 --requeue) "
                        "run_options=(--grace 120 --every-seconds 600) ;;"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("'lab') partition=internal sbatch_options=(--no-requeue) run_options=() ;;"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("(tenants: guest, lab)"), std::string::npos) << script;
}

TEST(SlurmExport, WhatSlurmCannotDoIsListedAndWrittenIntoTheConf) {
  const std::string text = small_node_with("idle_before_lull = \"0s\"", "idle_before_lull = \"10s\"") +
                           "[victims]\norder = [\"least_work_lost\", \"newest\"]\n";
  std::string with_limit = text;
  with_limit.replace(with_limit.find("checkpoint_interval"), 0, "max_preemptions_per_hour = 6\n");
  with_limit.replace(with_limit.find("class = \"spot\"\nslots = 4"), 24, "class = \"spot\"\nslots = 2");
  const SlurmExportResult result = export_to_slurm(load(with_limit), "test.toml", with_limit, "lull");
  ASSERT_TRUE(result.exported);
  std::string lost;
  for (const std::string& line : result.exported->lost) lost += line + "\n";
  for (const char* expected :
       {"node.idle_before_lull (10s): ", "scheduling.reserve_after (1h): ",
        "victims.order (least_work_lost, newest): ", "classes.spot.max_preemptions_per_hour (6): ",
        "tenants.guest.slots (2 of 4): "}) {
    EXPECT_NE(lost.find(expected), std::string::npos) << expected << "in:\n" << lost;
    EXPECT_NE(result.exported->slurm_conf.find(std::string("#   ") + expected), std::string::npos) << expected;
  }
  EXPECT_EQ(lost.find("tenants.lab"), std::string::npos) << "a quota of the whole node is no limit:\n" << lost;
  EXPECT_EQ(lost.find("resume."), std::string::npos) << "resume settings off: nothing lost:\n" << lost;
}

TEST(SlurmExport, ASharedMinRuntimeBecomesPreemptExemptTime) {
  const SlurmExportResult result =
      export_to_slurm(load(small_node_with("grace = \"2m\"", "grace = \"2m\"\nmin_runtime = \"1h30m5s\"")), "t",
                      "", "lull");
  ASSERT_TRUE(result.exported);
  EXPECT_NE(result.exported->slurm_conf.find("\nPreemptExemptTime=0-01:30:05\n"), std::string::npos)
      << result.exported->slurm_conf;
}

TEST(SlurmExport, PrioritiesAboveSlurmsRangeBecomeRanks) {
  const SlurmExportResult result =
      export_to_slurm(load(small_node_with("priority = 100", "priority = 1000000")), "t", "", "lull");
  ASSERT_TRUE(result.exported);
  EXPECT_NE(result.exported->slurm_conf.find("PartitionName=internal Nodes=ALL PriorityTier=2 "), std::string::npos)
      << result.exported->slurm_conf;
  EXPECT_NE(result.exported->slurm_conf.find("PartitionName=spot Nodes=ALL PriorityTier=1 "), std::string::npos);
}

TEST(SlurmExport, AGraceSlurmCannotHoldIsRefusedWithTheFieldAndWhy) {
  EXPECT_EQ(issues_of(small_node_with("\"2m\"", "\"1500ms\"")),
            std::vector<std::string>{"test.toml:10:9: classes.spot.grace: 1s500ms is not a whole number of seconds: "
                                     "Slurm's GraceTime counts seconds"});
  EXPECT_EQ(issues_of(small_node_with("\"2m\"", "\"0s\"")),
            std::vector<std::string>{"test.toml:10:9: classes.spot.grace: 0s: Slurm sends a preempted job no signal "
                                     "without a GraceTime, so the job would get no notice (at least 1s)"});
  EXPECT_EQ(issues_of(small_node_with("\"2m\"", "\"1d\"")),
            std::vector<std::string>{"test.toml:10:9: classes.spot.grace: 1d is longer than sbatch --signal can warn "
                                     "ahead (65535 s, about 18h)"});
}

TEST(SlurmExport, PreemptibleClassesWithDifferentMinRuntimesAreRefused) {
  const std::string text = small_node_with("grace = \"2m\"", "grace = \"2m\"\nmin_runtime = \"30m\"") +
                           "[classes.reserved]\npriority = 20\npreemptible = true\ngrace = \"5m\"\n";
  const std::vector<std::string> issues = issues_of(text);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].rfind("test.toml:11:15: classes.spot.min_runtime: 30m differs from "
                            "classes.reserved.min_runtime (0s): slurm.conf has one PreemptExemptTime for every "
                            "partition",
                            0),
            0u)
      << issues[0];
  // A min_runtime the file leaves out (0s) is placed at its class's table.
  const std::string defaulted = test::kSmallNodePolicy +
                                "[classes.reserved]\npriority = 20\npreemptible = true\ngrace = \"5m\"\n"
                                "min_runtime = \"30m\"\n";
  const std::vector<std::string> at_table = issues_of(defaulted);
  ASSERT_EQ(at_table.size(), 1u);
  EXPECT_EQ(at_table[0].rfind("test.toml:7:1: classes.spot.min_runtime: 0s differs from", 0), 0u) << at_table[0];
}

TEST(SlurmExport, NamesThatCannotBePartitionsAreRefused) {
  std::string text = small_node_with("[classes.spot]", "[classes.\"spot tier=1\"]");
  text.replace(text.find("class = \"spot\""), 14, "class = \"spot tier=1\"");
  EXPECT_EQ(issues_of(text), std::vector<std::string>{"test.toml:7:1: classes.spot tier=1: \"spot tier=1\" cannot name a "
                                                      "Slurm partition (letters, digits, '.', '_' and '-' only)"});
}

}  // namespace
}  // namespace lull::policy
