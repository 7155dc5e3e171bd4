#include "policy/policy_command.h"

#include <algorithm>
#include <iomanip>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lull/base/exit_codes.h"
#include "lull/policy/policy_loader.h"

namespace lull::cli {

using policy::format_duration;

CLI::App* add_policy_command(CLI::App& app, PolicyCheckOptions& options) {
  CLI::App* policy = app.add_subcommand("policy", "Work with preemption policy files");
  policy->require_subcommand(1);
  CLI::App* check = policy->add_subcommand(
      "check", "Validate a policy file: a summary when valid, every problem with line:column otherwise");
  check->add_option("FILE", options.file, "The policy file (TOML)")->required();
  return check;
}

namespace {

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string describe_class(const policy::JobClass& job_class) {
  if (!job_class.preemptible) return "not preemptible";
  std::string text = "preemptible: grace " + format_duration(job_class.grace);
  text += ", min runtime " + format_duration(job_class.min_runtime);
  if (job_class.checkpoint_interval_auto) {
    text += ", checkpoint interval auto (Young/Daly, at most " + format_duration(job_class.checkpoint_interval) + ")";
  } else {
    text += job_class.checkpoint_interval.count() > 0
                ? ", checkpoint every " + format_duration(job_class.checkpoint_interval)
                : ", checkpoint on notice only";
  }
  text += job_class.max_preemptions_per_hour
              ? ", at most " + std::to_string(*job_class.max_preemptions_per_hour) + " preemption(s)/hour"
              : ", no preemption limit";
  return text;
}

}  // namespace

void print_policy_summary(const policy::Policy& policy, std::ostream& out) {
  out << "node        " << policy.slots << " slots; a lull begins after "
      << format_duration(policy.idle_before_lull) << " idle\n";
  out << "scheduling  a waiting job holds back later jobs of its priority after "
      << format_duration(policy.reserve_after) << "\n";
  out << "resume      on fewer ranks: " << yes_no(policy.resume_on_fewer_ranks)
      << ", on more ranks: " << yes_no(policy.resume_on_more_ranks) << "\n";
  std::vector<std::string> victim_criteria;
  for (const auto criterion : policy.victim_order) victim_criteria.emplace_back(policy::victim_criterion_name(criterion));
  out << "victims     " << fmt::to_string(fmt::join(victim_criteria, ", then ")) << "\n";

  std::vector<const policy::JobClass*> classes;
  for (const auto& job_class : policy.classes) classes.push_back(&job_class);
  std::stable_sort(classes.begin(), classes.end(),
                   [](const auto* a, const auto* b) { return a->priority > b->priority; });
  std::size_t width = 0;
  for (const auto& job_class : policy.classes) width = std::max(width, job_class.name.size());
  for (const auto& tenant : policy.tenants) width = std::max(width, tenant.name.size());
  out << "classes     " << classes.size() << ", highest priority first\n";
  for (const auto* job_class : classes) {
    out << "  " << std::left << std::setw(static_cast<int>(width)) << job_class->name << "  priority "
        << std::setw(6) << job_class->priority << " " << describe_class(*job_class) << "\n";
  }
  out << "tenants     " << policy.tenants.size() << "\n";
  for (const auto& tenant : policy.tenants) {
    out << "  " << std::left << std::setw(static_cast<int>(width)) << tenant.name << "  class "
        << policy.class_of(tenant).name << ", quota " << tenant.slot_quota << " slots\n";
  }
}

int run_policy_check(const PolicyCheckOptions& options, std::ostream& out, std::ostream& err) {
  const policy::PolicyLoadResult result = policy::load_policy_file(options.file);
  if (result.policy) {
    out << options.file.string() << ": valid\n";
    print_policy_summary(*result.policy, out);
    return kExitOk;
  }
  for (const policy::PolicyIssue& issue : result.issues) err << issue.describe() << "\n";
  err << "lull: " << options.file.string() << ": " << result.issues.size()
      << (result.issues.size() == 1 ? " problem" : " problems") << "\n";
  return kExitFailure;
}

}  // namespace lull::cli
