#pragma once
// Reading a policy's TOML tables into typed values while collecting every
// problem instead of stopping at the first: IssueList keeps them with
// line:column and the dotted field; TableReader reads one table's keys
// (integer in range, boolean, string, duration, sub-table) and reports any
// key never asked for as unknown, with the closest known one. Private to
// policy/src: only policy_loader.cpp includes it (toml++ stays private).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "lull/policy/policy.h"
#include "lull/policy/policy_loader.h"

namespace lull::policy {

// Issues in the order they are found; sorted into file order at the end.
class IssueList {
 public:
  explicit IssueList(std::string_view source) : source_(source) {}

  // At a node's position (a table created implicitly has none: line 1).
  void add(const toml::source_region& where, std::string field, std::string message);
  // line 0: an issue of the whole text, without a position.
  void add_at(int line, int column, std::string field, std::string message);

  bool empty() const noexcept { return issues_.empty(); }
  std::vector<PolicyIssue> take_in_file_order();

 private:
  std::string source_;
  std::vector<PolicyIssue> issues_;
};

// "\"text\"".
std::string in_quotes(std::string_view text);
// "a table", "an integer", ... for "expected X, got Y".
std::string type_name(const toml::node& node);

// Reads the keys of one table; keys never asked for are reported as unknown by finish().
// Each reader returns nullopt (nullptr) after reporting a missing required
// key, a value of the wrong type or out of range.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, IssueList& issues)
      : table_(table), path_(std::move(path)), issues_(issues) {}

  // "classes.spot.grace" for key "grace" of table "classes.spot".
  std::string field(std::string_view key) const;

  // The node under `key` (nullptr when absent, reported when `required`).
  const toml::node* node(std::string_view key, bool required);
  std::optional<std::int64_t> integer(std::string_view key, bool required, std::int64_t min, std::int64_t max);
  std::optional<bool> boolean(std::string_view key, bool required);
  std::optional<std::string> string(std::string_view key, bool required);
  // A duration in [0s, max], written with a unit ("30s", "5m").
  std::optional<Duration> duration(std::string_view key, bool required, Duration max);
  // A sub-table under `key`; nullptr when absent (reported when `required`) or not a table.
  const toml::table* table(std::string_view key, bool required);

  // Reports every key of the table that was never asked for.
  void finish();

  IssueList& issues() { return issues_; }

 private:
  std::nullopt_t wrong_type(const toml::node& value, std::string_view key, std::string_view expected);

  const toml::table& table_;
  std::string path_;
  IssueList& issues_;
  std::vector<std::string> known_;
};

}  // namespace lull::policy
