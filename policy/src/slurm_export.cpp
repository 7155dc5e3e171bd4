#include "lull/policy/slurm_export.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lull::policy {
namespace {

// Slurm's limits: PriorityTier is 16 bits with its top values reserved; the
// time of `--signal=SIG@TIME` is 16 bits of seconds.
constexpr int kMaxPriorityTier = 65533;
constexpr std::int64_t kMaxSignalSeconds = 65535;

bool is_slurm_word(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

// `text` fit for a comment line and a double-quoted bash string: a file name
// with a newline, a quote or a `$` must not end either early.
std::string displayable(std::string_view text) {
  std::string shown;
  for (const char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("._-/+ ,:@").find(c) != std::string_view::npos;
    shown += plain ? c : '?';
  }
  return shown;
}

std::int64_t whole_seconds(Duration duration) {
  return std::chrono::duration_cast<std::chrono::seconds>(duration).count();
}

// "D-HH:MM:SS", Slurm's spelling of a duration in slurm.conf.
std::string slurm_time(Duration duration) {
  const std::int64_t s = whole_seconds(duration);
  return fmt::format("{}-{:02}:{:02}:{:02}", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
}

// Seconds for `lull run --every-seconds`: "900", or "0.25" when not whole.
std::string seconds_text(Duration duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000);
  return fmt::format("{}.{:03}", duration.count() / 1000, duration.count() % 1000);
}

class Exporter {
 public:
  Exporter(const Policy& policy, const std::string& source, std::string_view text)
      : policy_(policy), source_(source), text_(text), shown_source_(displayable(source)) {}

  SlurmExportResult run(const std::string& lull_program) {
    check_names();
    check_graces();
    const std::optional<Duration> exempt = shared_min_runtime();
    SlurmExportResult result;
    if (!issues_.empty()) {
      std::vector<std::vector<std::string>> paths;
      for (const PendingIssue& pending : issues_) paths.push_back(pending.path);
      const std::vector<std::pair<int, int>> places = locate_policy_keys(text_, paths);
      for (std::size_t i = 0; i < issues_.size(); ++i) {
        result.issues.push_back(PolicyIssue{source_, places[i].first, places[i].second,
                                            fmt::format("{}", fmt::join(issues_[i].path, ".")),
                                            std::move(issues_[i].message)});
      }
      return result;
    }
    SlurmExport exported;
    exported.lost = lost();
    exported.slurm_conf = slurm_conf(exempt.value_or(Duration{0}), exported.lost);
    exported.job_script = job_script(lull_program);
    result.exported = std::move(exported);
    return result;
  }

 private:
  // An issue about the key `path` ({"classes", "spot", "grace"}); placed in the text at the end (one parse).
  struct PendingIssue {
    std::vector<std::string> path;
    std::string message;
  };
  void issue(std::vector<std::string> path, std::string message) {
    issues_.push_back(PendingIssue{std::move(path), std::move(message)});
  }

  void check_names() {
    for (const JobClass& job_class : policy_.classes) {
      if (!is_slurm_word(job_class.name)) {
        issue({"classes", job_class.name},
              fmt::format("\"{}\" cannot name a Slurm partition (letters, digits, '.', '_' and '-' only)",
                          job_class.name));
      }
    }
    for (const Tenant& tenant : policy_.tenants) {
      if (!is_slurm_word(tenant.name)) {
        issue({"tenants", tenant.name},
              fmt::format("\"{}\" cannot be a lull-sbatch argument as it is (letters, digits, '.', '_' and '-' "
                          "only)",
                          tenant.name));
      }
    }
  }

  void check_graces() {
    for (const JobClass& job_class : policy_.classes) {
      if (!job_class.preemptible) continue;
      const std::vector<std::string> field = {"classes", job_class.name, "grace"};
      const std::string grace = format_duration(job_class.grace);
      if (job_class.grace.count() % 1000 != 0) {
        issue(field, grace + " is not a whole number of seconds: Slurm's GraceTime counts seconds");
      } else if (job_class.grace < std::chrono::seconds(1)) {
        issue(field, "0s: Slurm sends a preempted job no signal without a GraceTime, so the job would get no "
                     "notice (at least 1s)");
      } else if (whole_seconds(job_class.grace) > kMaxSignalSeconds) {
        issue(field, fmt::format("{} is longer than sbatch --signal can warn ahead ({} s, about 18h)", grace,
                                 kMaxSignalSeconds));
      }
    }
  }

  // The min_runtime of every preemptible class, which must be one: slurm.conf's
  // PreemptExemptTime holds for all partitions.
  std::optional<Duration> shared_min_runtime() {
    const JobClass* first = nullptr;
    for (const JobClass& job_class : policy_.classes) {
      if (!job_class.preemptible) continue;
      const std::vector<std::string> field = {"classes", job_class.name, "min_runtime"};
      if (job_class.min_runtime.count() % 1000 != 0) {
        issue(field, format_duration(job_class.min_runtime) +
                         " is not a whole number of seconds: Slurm's PreemptExemptTime counts seconds");
      } else if (first == nullptr) {
        first = &job_class;
      } else if (job_class.min_runtime != first->min_runtime) {
        issue(field, fmt::format("{} differs from classes.{}.min_runtime ({}): slurm.conf has one "
                                 "PreemptExemptTime for every partition (one per class takes a QOS in slurmdbd, "
                                 "which export does not write); give the preemptible classes one min_runtime",
                                 format_duration(job_class.min_runtime), first->name,
                                 format_duration(first->min_runtime)));
      }
    }
    if (first == nullptr) return std::nullopt;
    return first->min_runtime;
  }

  std::vector<std::string> lost() const {
    std::vector<std::string> lost;
    if (policy_.idle_before_lull.count() > 0) {
      lost.push_back(fmt::format("node.idle_before_lull ({}): Slurm starts a tenant job on a node the moment it "
                                 "is free",
                                 format_duration(policy_.idle_before_lull)));
    }
    lost.push_back(fmt::format("scheduling.reserve_after ({}): Slurm orders waiting jobs by its own priority "
                               "(sched/backfill reserves nodes for the first of them)",
                               format_duration(policy_.reserve_after)));
    if (policy_.resume_on_fewer_ranks || policy_.resume_on_more_ranks) {
      lost.emplace_back("resume.fewer_ranks, resume.more_ranks: a requeued job asks for the resources of its "
                        "submission again");
    }
    std::vector<std::string> order;
    for (const VictimCriterion criterion : policy_.victim_order) order.emplace_back(victim_criterion_name(criterion));
    lost.push_back(fmt::format("victims.order ({}): Slurm preempts jobs of lower PriorityTier partitions in an "
                               "order of its own; it cannot know the work a job would lose (least_work_lost), "
                               "and SchedulerParameters=preempt_youngest_first comes nearest to newest",
                               fmt::join(order, ", ")));
    for (const JobClass& job_class : policy_.classes) {
      if (job_class.max_preemptions_per_hour) {
        lost.push_back(fmt::format("classes.{}.max_preemptions_per_hour ({}): Slurm preempts a job however often",
                                   job_class.name, *job_class.max_preemptions_per_hour));
      }
    }
    for (const Tenant& tenant : policy_.tenants) {
      if (tenant.slot_quota < policy_.slots) {
        lost.push_back(fmt::format("tenants.{}.slots ({} of {}): a quota takes a QOS with GrpTRES in slurmdbd, "
                                   "which export does not write",
                                   tenant.name, tenant.slot_quota, policy_.slots));
      }
    }
    return lost;
  }

  // A class's PriorityTier: its priority, or its rank among the classes'
  // priorities when one is above Slurm's range (the order is what counts).
  std::map<int, int> priority_tiers() const {
    std::set<int> priorities;
    for (const JobClass& job_class : policy_.classes) priorities.insert(job_class.priority);
    std::map<int, int> tiers;
    const bool fits = *priorities.rbegin() <= kMaxPriorityTier;
    int rank = 1;
    for (const int priority : priorities) tiers[priority] = fits ? priority : rank++;
    return tiers;
  }

  std::string slurm_conf(Duration exempt, const std::vector<std::string>& lost) const {
    std::string text = fmt::format(
        "# Written by `lull policy export --slurm` from\n"
        "#   {}\n"
        "# Slurm preempts as that policy says (docs/slurm.md). Include it in slurm.conf and submit\n"
        "# jobs with the lull-sbatch written with it. The partitions cover Nodes=ALL: set Nodes=\n"
        "# to the nodes the policy is for.\n"
        "#\n"
        "# A preempted job's batch shell (lull run) gets its --signal at once, not at the end of\n"
        "# GraceTime; a batch job that exits 75 (preempted, resumable) is requeued.\n"
        "PreemptType=preempt/partition_prio\n"
        "PreemptMode=REQUEUE\n"
        "SlurmctldParameters=preempt_send_user_signal\n"
        "RequeueExit=75\n",
        shown_source_);
    if (exempt.count() > 0) {
      text += fmt::format("# min_runtime of the preemptible classes\nPreemptExemptTime={}\n", slurm_time(exempt));
    }
    text += "#\n# What Slurm does not keep of the policy:\n";
    for (const std::string& line : lost) text += "#   " + line + "\n";
    const std::map<int, int> tiers = priority_tiers();
    std::vector<const JobClass*> classes;
    for (const JobClass& job_class : policy_.classes) classes.push_back(&job_class);
    std::stable_sort(classes.begin(), classes.end(), [](auto* a, auto* b) { return a->priority > b->priority; });
    for (const JobClass* job_class : classes) {
      text += fmt::format("PartitionName={} Nodes=ALL PriorityTier={} ", job_class->name,
                          tiers.at(job_class->priority));
      text += job_class->preemptible
                  ? fmt::format("PreemptMode=REQUEUE GraceTime={}", whole_seconds(job_class->grace))
                  : std::string("PreemptMode=OFF");
      text += " State=UP\n";
    }
    return text;
  }

  // The sbatch and `lull run` options of a tenant's jobs, as bash words.
  std::string tenant_case(const Tenant& tenant) const {
    const JobClass& job_class = policy_.class_of(tenant);
    if (!job_class.preemptible) {
      return fmt::format("  '{}') partition={} sbatch_options=(--no-requeue) run_options=() ;;\n", tenant.name,
                         job_class.name);
    }
    const std::int64_t grace = whole_seconds(job_class.grace);
    std::string run_options = fmt::format("--grace {}", grace);
    if (job_class.checkpoint_interval_auto) {
      run_options += " --every-seconds auto";  // Young/Daly with the runtime's default mean time between notices
    } else if (job_class.checkpoint_interval.count() > 0) {
      run_options += " --every-seconds " + seconds_text(job_class.checkpoint_interval);
    }
    return fmt::format("  '{}') partition={} sbatch_options=(--signal=B:TERM@{} --requeue) run_options=({}) ;;\n",
                       tenant.name, job_class.name, grace, run_options);
  }

  std::string job_script(const std::string& lull_program) const {
    std::vector<std::string> tenant_names;
    std::string cases;
    for (const Tenant& tenant : policy_.tenants) {
      tenant_names.push_back(tenant.name);
      cases += tenant_case(tenant);
    }
    std::string quoted_lull = "'";
    for (const char c : lull_program) quoted_lull += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted_lull += "'";
    return fmt::format(
        R"script(#!/usr/bin/env bash
# lull-sbatch: written by `lull policy export --slurm` (docs/slurm.md) from
#   {source}
# Submits a job of a tenant of that policy to its class's partition. The job runs
# `lull run` as its batch shell, so Slurm's signal at preemption (--signal=B:TERM) is
# the notice: the ranks commit a snapshot and lull run exits 75 within the grace time,
# and Slurm requeues the job (RequeueExit=75 in the slurm.conf lines written with this).
# Started again, it resumes from its snapshot.
#
# Usage: lull-sbatch TENANT CKPT_DIR [SBATCH_OPTION...] -- COMMAND...
#   CKPT_DIR  the job's snapshot directory, on a path every node sees
# Prints sbatch's answer (the job id); exit 2 for a bad command line.
set -euo pipefail
lull={lull}

usage() {{
  echo "usage: lull-sbatch TENANT CKPT_DIR [SBATCH_OPTION...] -- COMMAND..." >&2
  exit 2
}}
(($# >= 4)) || usage
tenant=$1 ckpt_dir=$2
shift 2
options=()
while (($#)) && [[ $1 != -- ]]; do
  options+=("$1")
  shift
done
(($# >= 2)) || usage
shift

case $tenant in
{cases}  *)
    echo "lull-sbatch: no tenant \"$tenant\" in the policy (tenants: {tenants})" >&2
    exit 2
    ;;
esac

{{
  echo '#!/bin/bash'
  printf 'exec'
  printf ' %q' "$lull" run --ckpt-dir "$ckpt_dir" "${{run_options[@]}}" -- "$@"
  echo
}} | sbatch --partition="$partition" "${{sbatch_options[@]}}" --open-mode=append "${{options[@]}}"
)script",
        fmt::arg("source", shown_source_), fmt::arg("lull", quoted_lull), fmt::arg("cases", cases),
        fmt::arg("tenants", fmt::join(tenant_names, ", ")));
  }

  const Policy& policy_;
  const std::string& source_;        // in issues, as the loader names the file
  std::string_view text_;            // the policy's TOML, for the issues' positions
  const std::string shown_source_;   // in the files written
  std::vector<PendingIssue> issues_;
};

}  // namespace

SlurmExportResult export_to_slurm(const Policy& policy, const std::string& source, std::string_view text,
                                  const std::string& lull_program) {
  return Exporter(policy, source, text).run(lull_program);
}

}  // namespace lull::policy
