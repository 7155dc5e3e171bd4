#pragma once
// EventLog — appends ArbiterEvents (arbiter_event.h) to the events file, one
// JSON line each, with one write(2) per line on an O_APPEND descriptor, so a
// reader tailing the file sees whole lines. Not fsync'd: the journal is the
// durable record; the events are for people and `lull report`. The file is
// created mode 0640. Not thread-safe.

#include <filesystem>

#include "arbiter_event.h"
#include "lull/base/unique_fd.h"

namespace lull::arbiter {

class EventLog {
 public:
  // Throws the errno mapper's Error when the file cannot be opened.
  explicit EventLog(const std::filesystem::path& path);

  // Never throws: a failed write is logged (the arbiter goes on).
  void write(const ArbiterEvent& event) noexcept;

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

}  // namespace lull::arbiter
