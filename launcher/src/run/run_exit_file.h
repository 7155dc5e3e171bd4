#pragma once
// The exit file of `lull run --exit-file PATH`: how the run ended, for a
// watcher that is not lull run's parent and so cannot wait for its status
// (the node arbiter adopting jobs after its own restart).
//
// Content: one JSON object, {"exit_code": N, "meaning": "finished"}, where N
// is lull run's own exit code (run_outcome.h). Written atomically once lull
// run knows its verdict (temporary file, fsync, rename, fsync of the
// directory): a reader sees the whole file or none. A lull run killed with
// SIGKILL writes nothing.

#include <filesystem>
#include <optional>
#include <string>

namespace lull::run {

struct RunExit {
  int exit_code = 0;
  std::string meaning;
};

// Writes `outcome` to `path` atomically (mode 0644). Throws the errno
// mapper's Error when it cannot.
void write_exit_file(const std::filesystem::path& path, const RunExit& outcome);

// Reads an exit file: nullopt when `path` does not exist. The file must be a
// regular file (symlinks are not followed), at most 64 KiB, and owned by
// `owner` when given (the arbiter reads files in directories users own).
// Throws lull::Error(corrupt) for content that is not an exit file and the
// errno mapper's Error for other failures.
std::optional<RunExit> read_exit_file(const std::filesystem::path& path, std::optional<unsigned> owner = std::nullopt);

}  // namespace lull::run
