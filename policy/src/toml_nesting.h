#pragma once
// A cheap look at TOML text before toml++ parses it: how deeply it nests.
//
// toml++ builds and tears down its tree recursively, one stack frame per
// level, and bounds only arrays and inline tables: a table header or dotted
// key of 40,000 parts (an 80 KB file) overflowed the stack. The policy loader
// therefore refuses text nested deeper than any policy needs before parsing.
// Depth counts every level of the tree the text would build: the parts of
// a table header ([a.b.c] is 3), the parts of a dotted key on top of its
// table, and each array or inline table on top of the key that holds it.

#include <optional>
#include <string_view>

namespace lull::policy {

struct TextPosition {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

// Where `text` first nests deeper than `max_depth`; nullopt when it never
// does. Reads the text once, O(n) time, memory O(max_depth); never fails
// (malformed TOML is left for the parser to report).
std::optional<TextPosition> find_excess_nesting(std::string_view text, int max_depth);

}  // namespace lull::policy
