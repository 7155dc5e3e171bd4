#pragma once
// Reading a policy file (TOML, with toml++) into a valid Policy.
//
// Every problem is reported, not only the first: each with the file, line
// and column, the field's dotted path and what is wrong, for example
//   policy.toml:12:3: classes.tenant.grace: "30x" is not a duration (use 30s, 5m, 1h)
// Unknown keys are errors (a misspelt key never silently becomes a default);
// a TOML syntax error stops reading at that point and is the only issue.
// Text over kMaxPolicyBytes, or nested deeper than kMaxPolicyNesting levels
// (table header and dotted key parts, arrays and inline tables together), is
// refused before it is parsed; so is a file that is not a regular file.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lull/policy/policy.h"

namespace lull::policy {

inline constexpr std::size_t kMaxPolicyBytes = 1024 * 1024;
inline constexpr int kMaxPolicyNesting = 16;

struct PolicyIssue {
  std::string source;  // the file name as given ("policy.toml")
  int line = 0;        // 1-based; 0 when the issue has no position (a missing file)
  int column = 0;      // 1-based
  std::string field;   // dotted path: "classes.tenant.grace"; empty for syntax errors
  std::string message;

  // "<source>:<line>:<column>: <field>: <message>" (parts without a value left out).
  std::string describe() const;
};

struct PolicyLoadResult {
  std::optional<Policy> policy;     // set exactly when `issues` is empty
  std::vector<PolicyIssue> issues;  // in file order
  std::string text;                 // the TOML text it was read from (for locate_policy_keys)
};

// Parses and validates TOML text; `source` names it in the issues. Pure,
// thread-safe, never throws for bad input.
PolicyLoadResult load_policy_text(std::string_view text, std::string_view source);

// Reads the file, then as load_policy_text (source = the path as given). A
// file that is missing, unreadable, not a regular file (a directory, a FIFO,
// /dev/zero: never opened in a way that blocks) or over kMaxPolicyBytes is
// one issue without a position that says which.
PolicyLoadResult load_policy_file(const std::filesystem::path& path);

// Where each key of `paths` (from the root: {"classes", "spot", "grace"})
// stands in policy `text`, as PolicyIssue's 1-based {line, column}, in the
// order of `paths`; for a key the text leaves out (a default), where the
// deepest table of its path the text has stands; {0, 0} when the text does
// not parse. Parses the text once. Pure, never throws.
std::vector<std::pair<int, int>> locate_policy_keys(std::string_view text,
                                                    const std::vector<std::vector<std::string>>& paths);

// load_policy_file, throwing lull::Error(invalid_argument) whose message
// lists every issue, one per line. For callers that cannot go on without a policy.
Policy load_policy_or_throw(const std::filesystem::path& path);

}  // namespace lull::policy
