#pragma once
// Text that came from outside (a socket request, a file a user wrote, another
// user's path), made fit to put into a log line, an event or an error message.
//
// A client decides how long and what such text is: a 1 MiB tenant name, a
// newline that forges a log line, an escape sequence for the terminal that
// shows the log. Every place that echoes outside text goes through here, so
// what one request can put into a log or the events file is bounded.

#include <cstddef>
#include <string>
#include <string_view>

namespace lull {

// Echoed text is cut to about this many bytes unless a caller says otherwise.
inline constexpr std::size_t kBoundedTextBytes = 200;

// `text` with every byte that is a control character (C0, DEL, C1) or not
// part of valid UTF-8 shown as \xNN, cut on a character boundary so that the
// result is at most `max_bytes` bytes, followed, when something was cut, by
// "...(N more bytes)" (N counts the input's bytes left out). Pure, thread-safe.
std::string bounded_text(std::string_view text, std::size_t max_bytes = kBoundedTextBytes);

// bounded_text() in double quotes: "\"" + bounded_text(text, max_bytes) + "\"".
std::string quoted_text(std::string_view text, std::size_t max_bytes = kBoundedTextBytes);

}  // namespace lull
