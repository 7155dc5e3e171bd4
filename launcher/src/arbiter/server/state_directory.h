#pragma once
// The arbiter's state directory: created 0750 when missing, refused when it
// is not a directory owned by the arbiter's user or is writable by group or
// others; locked (flock on arbiter.lock) so that one arbiter at a time runs
// on it. The lock lives as long as the object.

#include <filesystem>

#include "lull/base/unique_fd.h"

namespace lull::arbiter {

class StateDirectory {
 public:
  // Throws lull::Error(invalid_argument) for an unsafe directory or when
  // another arbiter holds the lock; the errno mapper's Error otherwise.
  explicit StateDirectory(std::filesystem::path dir);

  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::filesystem::path journal() const { return dir_ / "journal.jsonl"; }
  std::filesystem::path job_logs() const { return dir_ / "jobs"; }

 private:
  std::filesystem::path dir_;
  UniqueFd lock_;
};

}  // namespace lull::arbiter
