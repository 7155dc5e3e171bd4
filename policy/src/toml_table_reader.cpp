#include "toml_table_reader.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lull::policy {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

void IssueList::add(const toml::source_region& where, std::string field, std::string message) {
  // Tables created implicitly ([classes.x] creates "classes") have no position of their own.
  add_at(where.begin.line > 0 ? static_cast<int>(where.begin.line) : 1,
         where.begin.column > 0 ? static_cast<int>(where.begin.column) : 1, std::move(field), std::move(message));
}

void IssueList::add_at(int line, int column, std::string field, std::string message) {
  PolicyIssue issue;
  issue.source = source_;
  issue.line = line;
  issue.column = line > 0 ? column : 0;
  issue.field = std::move(field);
  issue.message = std::move(message);
  issues_.push_back(std::move(issue));
}

std::vector<PolicyIssue> IssueList::take_in_file_order() {
  std::stable_sort(issues_.begin(), issues_.end(), [](const PolicyIssue& a, const PolicyIssue& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(issues_);
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date or time";
    default: return "nothing";
  }
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string TableReader::field(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

// The node under `key` (nullptr when absent, reported when `required`).
const toml::node* TableReader::node(std::string_view key, bool required) {
  known_.emplace_back(key);
  const toml::node* found = table_.get(key);
  if (found == nullptr && required) issues_.add(table_.source(), field(key), "missing (required)");
  return found;
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, bool required, std::int64_t min, std::int64_t max) {
  const toml::node* value = node(key, required);
  if (value == nullptr) return std::nullopt;
  const auto* number = value->as_integer();
  if (number == nullptr) return wrong_type(*value, key, "an integer");
  const std::int64_t n = number->get();
  if (n < min || n > max) {
    issues_.add(value->source(), field(key),
                std::to_string(n) + " is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
    return std::nullopt;
  }
  return n;
}

std::optional<bool> TableReader::boolean(std::string_view key, bool required) {
  const toml::node* value = node(key, required);
  if (value == nullptr) return std::nullopt;
  const auto* flag = value->as_boolean();
  if (flag == nullptr) return wrong_type(*value, key, "true or false");
  return flag->get();
}

std::optional<std::string> TableReader::string(std::string_view key, bool required) {
  const toml::node* value = node(key, required);
  if (value == nullptr) return std::nullopt;
  const auto* text = value->as_string();
  if (text == nullptr) return wrong_type(*value, key, "a string");
  return text->get();
}

// A duration in [0s, max].
std::optional<Duration> TableReader::duration(std::string_view key, bool required, Duration max) {
  const toml::node* value = node(key, required);
  if (value == nullptr) return std::nullopt;
  const auto* text = value->as_string();
  if (text == nullptr) {
    if (value->is_integer()) {
      issues_.add(value->source(), field(key),
                  "a duration is a string with a unit: \"" + std::to_string(value->as_integer()->get()) + "s\"");
      return std::nullopt;
    }
    return wrong_type(*value, key, "a duration such as \"30s\" or \"5m\"");
  }
  std::optional<Duration> parsed = parse_duration(text->get());
  if (!parsed) {
    issues_.add(value->source(), field(key), in_quotes(text->get()) + " is not a duration (use 30s, 5m, 1h)");
  } else if (*parsed > max) {
    issues_.add(value->source(), field(key),
                in_quotes(text->get()) + " is out of range (0s.." + format_duration(max) + ")");
    return std::nullopt;
  }
  return parsed;
}

// A sub-table under `key`; nullptr when absent (reported when `required`) or not a table.
const toml::table* TableReader::table(std::string_view key, bool required) {
  const toml::node* value = node(key, required);
  if (value == nullptr) return nullptr;
  if (!value->is_table()) {
    wrong_type(*value, key, "a table");
    return nullptr;
  }
  return value->as_table();
}

// Reports every key of the table that was never asked for.
void TableReader::finish() {
  for (auto&& [key, value] : table_) {
    if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
    std::string message = "unknown key " + in_quotes(key.str());
    std::string_view closest;
    std::size_t closest_distance = 3;
    for (const std::string& candidate : known_) {
      const std::size_t distance = edit_distance(key.str(), candidate);
      if (distance < closest_distance) {
        closest_distance = distance;
        closest = candidate;
      }
    }
    if (!closest.empty()) message += " (did you mean " + in_quotes(closest) + "?)";
    message += known_.empty() ? "" : "; known keys here: " + fmt::to_string(fmt::join(known_, ", "));
    issues_.add(key.source(), field(key.str()), message);
  }
}

std::nullopt_t TableReader::wrong_type(const toml::node& value, std::string_view key, std::string_view expected) {
  issues_.add(value.source(), field(key), "expected " + std::string(expected) + ", got " + type_name(value));
  return std::nullopt;
}


}  // namespace lull::policy
