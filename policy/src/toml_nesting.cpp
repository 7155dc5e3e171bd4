#include "toml_nesting.h"

#include <cstddef>
#include <vector>

namespace lull::policy {

namespace {

// A scanner over TOML text that knows just enough of the grammar to tell
// keys from values: strings (four kinds), comments, table headers, dotted
// keys, arrays and inline tables. Everything else is skipped.
class NestingScanner {
 public:
  NestingScanner(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  std::optional<TextPosition> run() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        end_of_line();
      } else if (c == '#') {
        skip_comment();
        continue;
      } else if (c == '"' || c == '\'') {
        const TextPosition start = here_;
        if (in_key_) add_key_part_if_first();
        skip_string(c);
        if (too_deep()) return start;
        continue;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        // separators only
      } else if (in_key_ ? key_char(c) : value_char(c)) {
        return here_;
      }
      advance();
    }
    return std::nullopt;
  }

 private:
  struct Container {
    char closer;  // ']' for an array, '}' for an inline table
    int depth;    // depth of what it holds
  };

  int base() const { return open_.empty() ? section_ : open_.back().depth; }
  bool too_deep() const { return base() + key_parts_ > max_depth_; }
  void add_key_part_if_first() {
    if (key_parts_ == 0) key_parts_ = 1;
  }

  // Returns true when the text became too deep at this character.
  bool key_char(char c) {
    if (c == '[' && open_.empty() && key_parts_ == 0 && !in_header_) {
      in_header_ = true;  // [table] or [[array.of.tables]]
      section_ = 0;
      if (peek(1) == '[') {
        header_is_array_ = true;
        advance();
      }
      return false;
    }
    if (c == ']' && in_header_) {
      section_ = key_parts_ + (header_is_array_ ? 1 : 0);
      if (header_is_array_ && peek(1) == ']') advance();
      in_header_ = header_is_array_ = false;
      key_parts_ = 0;
      in_key_ = false;  // only a comment may follow
      return section_ > max_depth_;
    }
    if (c == '}' && !open_.empty() && open_.back().closer == '}') {  // {} or a trailing comma
      close();
      return false;
    }
    if (c == '=') {
      in_key_ = false;
      return false;
    }
    if (c == '.') {
      add_key_part_if_first();
      ++key_parts_;
    } else {
      add_key_part_if_first();
    }
    return too_deep();
  }

  bool value_char(char c) {
    if (c == '[' || c == '{') {
      open_.push_back({c == '[' ? ']' : '}', base() + key_parts_ + 1});
      key_parts_ = 0;
      in_key_ = c == '{';
      return base() > max_depth_;
    }
    if ((c == ']' || c == '}') && !open_.empty() && open_.back().closer == c) {
      close();
    } else if (c == ',' && !open_.empty() && open_.back().closer == '}') {
      in_key_ = true;
      key_parts_ = 0;
    }
    return false;
  }

  void close() {
    open_.pop_back();
    key_parts_ = 0;
    in_key_ = false;
  }

  void end_of_line() {
    if (!open_.empty()) return;  // arrays may span lines
    in_key_ = true;
    in_header_ = header_is_array_ = false;
    key_parts_ = 0;
  }

  char peek(std::size_t ahead) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  void advance() {
    if (text_[pos_] == '\n') {
      ++here_.line;
      here_.column = 1;
    } else {
      ++here_.column;
    }
    ++pos_;
  }

  void skip_comment() {
    while (pos_ < text_.size() && text_[pos_] != '\n') advance();
  }

  // From the opening quote to past the closing one (or to the end of the
  // line for an unterminated single-line string: the parser reports it).
  void skip_string(char quote) {
    const bool multi_line = peek(1) == quote && peek(2) == quote;
    const bool escapes = quote == '"';
    for (int i = 0; i < (multi_line ? 3 : 1); ++i) advance();
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n' && !multi_line) return;
      if (escapes && c == '\\' && pos_ + 1 < text_.size()) {
        advance();
        advance();
        continue;
      }
      if (c == quote && !multi_line) {
        advance();
        return;
      }
      if (c == quote && peek(1) == quote && peek(2) == quote) {
        // Up to two quotes may stand just inside the closing delimiter
        // ("""a""""" is a"" ): toml++ takes a run of up to 5 as one end.
        for (int i = 0; i < 5 && pos_ < text_.size() && text_[pos_] == quote; ++i) advance();
        return;
      }
      advance();
    }
  }

  std::string_view text_;
  int max_depth_;
  std::size_t pos_ = 0;
  TextPosition here_;
  std::vector<Container> open_;
  int section_ = 0;    // depth of the current [table]
  int key_parts_ = 0;  // parts of the key being read
  bool in_key_ = true;
  bool in_header_ = false;
  bool header_is_array_ = false;
};

}  // namespace

std::optional<TextPosition> find_excess_nesting(std::string_view text, int max_depth) {
  return NestingScanner(text, max_depth).run();
}

}  // namespace lull::policy
