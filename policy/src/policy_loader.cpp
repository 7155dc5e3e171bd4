// TOML text -> Policy, or every issue found. toml++ is used only here and in
// toml_table_reader (the typed reading of one table), both private to policy/src.
#include "lull/policy/policy_loader.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "lull/base/error.h"
#include "lull/base/names.h"
#include "lull/base/regular_file.h"
#include "toml_nesting.h"
#include "toml_table_reader.h"

namespace lull::policy {

namespace {

bool check_name(IssueList& issues, const toml::key& key, const std::string& field, std::string_view what) {
  try {
    validate_name(what, key.str());
    return true;
  } catch (const Error& error) {
    issues.add(key.source(), field, error.message());
    return false;
  }
}

void read_node(TableReader& root, Policy& policy) {
  const toml::table* node = root.table("node", true);
  if (node == nullptr) return;
  TableReader reader(*node, "node", root.issues());
  if (auto slots = reader.integer("slots", true, 1, kMaxNodeSlots)) policy.slots = static_cast<int>(*slots);
  if (auto idle = reader.duration("idle_before_lull", true, kMaxPolicyDuration)) policy.idle_before_lull = *idle;
  reader.finish();
}

void read_scheduling(TableReader& root, Policy& policy) {
  const toml::table* scheduling = root.table("scheduling", false);
  if (scheduling == nullptr) return;
  TableReader reader(*scheduling, "scheduling", root.issues());
  if (auto reserve = reader.duration("reserve_after", false, kMaxPolicyDuration)) policy.reserve_after = *reserve;
  reader.finish();
}

void read_resume(TableReader& root, Policy& policy) {
  const toml::table* resume = root.table("resume", false);
  if (resume == nullptr) return;
  TableReader reader(*resume, "resume", root.issues());
  if (auto fewer = reader.boolean("fewer_ranks", false)) policy.resume_on_fewer_ranks = *fewer;
  if (auto more = reader.boolean("more_ranks", false)) policy.resume_on_more_ranks = *more;
  reader.finish();
}

void read_victims(TableReader& root, Policy& policy) {
  policy.victim_order = default_victim_order();
  const toml::table* victims = root.table("victims", false);
  if (victims == nullptr) return;
  TableReader reader(*victims, "victims", root.issues());
  const toml::node* order = reader.node("order", false);
  if (order != nullptr) {
    const std::string field = reader.field("order");
    const toml::array* list = order->as_array();
    if (list == nullptr || list->empty()) {
      root.issues().add(order->source(), field, "expected a non-empty array of criteria");
    } else {
      std::vector<std::string> known;
      for (VictimCriterion criterion : all_victim_criteria()) known.emplace_back(victim_criterion_name(criterion));
      std::vector<VictimCriterion> parsed;
      for (const toml::node& item : *list) {
        const auto* text = item.as_string();
        const std::optional<VictimCriterion> criterion =
            text != nullptr ? victim_criterion_from_name(text->get()) : std::nullopt;
        if (!criterion) {
          root.issues().add(item.source(), field,
                            (text != nullptr ? in_quotes(text->get()) : type_name(item)) +
                                " is not a victim criterion (known: " + fmt::to_string(fmt::join(known, ", ")) + ")");
        } else if (std::find(parsed.begin(), parsed.end(), *criterion) != parsed.end()) {
          root.issues().add(item.source(), field, in_quotes(text->get()) + " is listed twice");
        } else {
          parsed.push_back(*criterion);
        }
      }
      policy.victim_order = std::move(parsed);
    }
  }
  reader.finish();
}

void read_class(const toml::key& key, const toml::table& table, IssueList& issues, Policy& policy) {
  const std::string path = "classes." + std::string(key.str());
  TableReader reader(table, path, issues);
  JobClass job_class;
  job_class.name = key.str();
  bool valid = check_name(issues, key, path, "class name");
  auto priority = reader.integer("priority", true, 0, kMaxPriority);
  auto preemptible = reader.boolean("preemptible", true);
  valid = valid && priority && preemptible;
  if (priority) job_class.priority = static_cast<int>(*priority);
  if (preemptible) job_class.preemptible = *preemptible;

  // Keys that only mean something for preemptible classes are refused on the
  // others, so a policy cannot look protective while doing nothing.
  const bool is_preemptible = preemptible.value_or(true);
  auto only_if_preemptible = [&](std::string_view name) {
    if (!is_preemptible && table.get(name) != nullptr) {
      issues.add(table.get(name)->source(), reader.field(name), "has no effect: the class is not preemptible");
      valid = false;
    }
  };
  only_if_preemptible("grace");
  only_if_preemptible("min_runtime");
  only_if_preemptible("max_preemptions_per_hour");
  if (auto grace = reader.duration("grace", is_preemptible, kMaxGrace)) job_class.grace = *grace;
  if (auto min_runtime = reader.duration("min_runtime", false, kMaxPolicyDuration)) job_class.min_runtime = *min_runtime;
  const toml::node* interval = reader.node("checkpoint_interval", false);
  if (interval != nullptr && interval->value<std::string_view>() == "auto") {
    job_class.checkpoint_interval_auto = true;
    job_class.checkpoint_interval = kAutoCheckpointIntervalBound;
  } else if (auto every = reader.duration("checkpoint_interval", false, kMaxPolicyDuration)) {
    job_class.checkpoint_interval = *every;
  }
  const toml::node* limit_node = table.get("max_preemptions_per_hour");
  if (limit_node != nullptr && limit_node->is_integer() && limit_node->as_integer()->get() == 0) {
    reader.node("max_preemptions_per_hour", false);
    issues.add(limit_node->source(), reader.field("max_preemptions_per_hour"),
               "0 would forbid every preemption: write preemptible = false instead");
    valid = false;
  } else if (auto limit = reader.integer("max_preemptions_per_hour", false, 1, kMaxPreemptionsPerHour)) {
    job_class.max_preemptions_per_hour = static_cast<int>(*limit);
  }
  reader.finish();
  if (valid) policy.classes.push_back(std::move(job_class));
}

struct PendingTenant {
  std::string name;
  std::string class_name;
  toml::source_region class_where;
  int quota = 0;
  toml::source_region quota_where;
};

void read_tenant(const toml::key& key, const toml::table& table, IssueList& issues, std::vector<PendingTenant>& out) {
  const std::string path = "tenants." + std::string(key.str());
  TableReader reader(table, path, issues);
  bool valid = check_name(issues, key, path, "tenant name");
  PendingTenant tenant;
  tenant.name = key.str();
  auto class_name = reader.string("class", true);
  auto quota = reader.integer("slots", true, 1, kMaxNodeSlots);
  reader.finish();
  if (!valid || !class_name || !quota) return;
  tenant.class_name = *class_name;
  tenant.class_where = table.get("class")->source();
  tenant.quota = static_cast<int>(*quota);
  tenant.quota_where = table.get("slots")->source();
  out.push_back(std::move(tenant));
}

// Reads every [<section>.<name>] table with `read_one`.
template <typename ReadOne>
void read_named_tables(TableReader& root, std::string_view section, ReadOne read_one) {
  const toml::table* tables = root.table(section, true);
  if (tables == nullptr) return;
  if (tables->empty()) root.issues().add(tables->source(), std::string(section), "needs at least one entry");
  for (auto&& [key, value] : *tables) {
    const std::string path = std::string(section) + "." + std::string(key.str());
    if (!value.is_table()) {
      root.issues().add(value.source(), path, "expected a table ([" + path + "]), got " + type_name(value));
      continue;
    }
    read_one(key, *value.as_table());
  }
}

// `declared_classes`: every [classes.*] name; those missing from policy.classes had errors of their own.
void resolve_tenants(std::vector<PendingTenant>& pending, IssueList& issues, Policy& policy,
                     const std::set<std::string>& declared_classes) {
  const std::vector<std::string> class_names(declared_classes.begin(), declared_classes.end());
  for (PendingTenant& tenant : pending) {
    const std::string path = "tenants." + tenant.name;
    const JobClass* job_class = policy.find_class(tenant.class_name);
    if (job_class == nullptr) {
      if (declared_classes.count(tenant.class_name) == 0) {
        issues.add(tenant.class_where, path + ".class",
                   "no class " + in_quotes(tenant.class_name) +
                       " (classes: " + fmt::to_string(fmt::join(class_names, ", ")) + ")");
      }
      continue;
    }
    if (policy.slots > 0 && tenant.quota > policy.slots) {
      issues.add(tenant.quota_where, path + ".slots",
                 std::to_string(tenant.quota) + " is more than node.slots (" + std::to_string(policy.slots) + ")");
      continue;
    }
    Tenant resolved;
    resolved.name = tenant.name;
    resolved.class_index = static_cast<std::size_t>(job_class - policy.classes.data());
    resolved.slot_quota = tenant.quota;
    policy.tenants.push_back(std::move(resolved));
  }
}

}  // namespace

std::string PolicyIssue::describe() const {
  std::string out = source;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!field.empty()) out += field + ": ";
  return out + message;
}

PolicyLoadResult load_policy_text(std::string_view text, std::string_view source) {
  PolicyLoadResult result;
  result.text = std::string(text);
  IssueList issues(source);
  // Bounded before toml++ sees the text: it recurses once per level of nesting.
  if (text.size() > kMaxPolicyBytes) {
    issues.add_at(0, 0, "", "the policy is " + std::to_string(text.size()) + " bytes; the maximum is " +
                                std::to_string(kMaxPolicyBytes) + " (1 MiB)");
  } else if (const std::optional<TextPosition> deep = find_excess_nesting(text, kMaxPolicyNesting)) {
    issues.add_at(deep->line, deep->column, "",
                  "TOML nesting: deeper than " + std::to_string(kMaxPolicyNesting) +
                      " levels (table header parts, dotted key parts, arrays and inline tables together; "
                      "a policy needs 3)");
  }
  if (!issues.empty()) {
    result.issues = issues.take_in_file_order();
    return result;
  }
  toml::table document;
  try {
    document = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    issues.add(error.source(), "", "TOML syntax: " + std::string(error.description()));
    result.issues = issues.take_in_file_order();
    return result;
  }

  Policy policy;
  TableReader root(document, "", issues);
  read_node(root, policy);
  read_scheduling(root, policy);
  read_resume(root, policy);
  read_victims(root, policy);

  std::set<std::string> declared_classes;
  read_named_tables(root, "classes", [&](const toml::key& key, const toml::table& table) {
    declared_classes.insert(std::string(key.str()));
    read_class(key, table, issues, policy);
  });
  std::sort(policy.classes.begin(), policy.classes.end(),
            [](const JobClass& a, const JobClass& b) { return a.name < b.name; });
  std::vector<PendingTenant> pending;
  read_named_tables(root, "tenants",
                    [&](const toml::key& key, const toml::table& table) { read_tenant(key, table, issues, pending); });
  root.finish();
  resolve_tenants(pending, issues, policy, declared_classes);
  std::sort(policy.tenants.begin(), policy.tenants.end(),
            [](const Tenant& a, const Tenant& b) { return a.name < b.name; });

  if (issues.empty()) result.policy = std::move(policy);
  result.issues = issues.take_in_file_order();
  return result;
}

std::vector<std::pair<int, int>> locate_policy_keys(std::string_view text,
                                                    const std::vector<std::vector<std::string>>& paths) {
  std::vector<std::pair<int, int>> places(paths.size(), {0, 0});
  if (text.size() > kMaxPolicyBytes || find_excess_nesting(text, kMaxPolicyNesting)) return places;
  toml::table document;
  try {
    document = toml::parse(text);
  } catch (const toml::parse_error&) {
    return places;
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const toml::node* node = &document;
    for (const std::string& key : paths[i]) {
      const toml::table* table = node->as_table();
      const toml::node* child = table != nullptr ? table->get(key) : nullptr;
      if (child == nullptr) break;
      node = child;
    }
    const toml::source_position begin = node->source().begin;
    places[i] = {static_cast<int>(begin.line), static_cast<int>(begin.column)};
  }
  return places;
}

PolicyLoadResult load_policy_file(const std::filesystem::path& path) {
  RegularFileContent file;
  try {
    file = read_regular_file(path, kMaxPolicyBytes, "policy file");
  } catch (const Error& error) {
    PolicyLoadResult result;
    PolicyIssue issue;
    issue.source = path.string();
    issue.message = "cannot read the policy file: " + error.detail();
    result.issues.push_back(std::move(issue));
    return result;
  }
  return load_policy_text(file.bytes, path.string());
}

Policy load_policy_or_throw(const std::filesystem::path& path) {
  PolicyLoadResult result = load_policy_file(path);
  if (result.policy) return std::move(*result.policy);
  std::string message = "invalid policy " + path.string() + " (" + std::to_string(result.issues.size()) +
                        (result.issues.size() == 1 ? " problem):" : " problems):");
  for (const PolicyIssue& issue : result.issues) message += "\n  " + issue.describe();
  throw Error(ErrorCode::invalid_argument, message, "", "", "lull policy check " + path.string() + " lists them");
}

}  // namespace lull::policy
