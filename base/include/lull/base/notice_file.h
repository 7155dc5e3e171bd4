#pragma once
// The preemption notice file: how `lull run` tells the ranks of a job that
// it is being preempted and by when it must be gone.
//
// `lull run` writes it (atomically: temporary name, fsync, rename) before it
// sends SIGUSR1, and puts its path in the environment variable
// LULL_NOTICE_FILE of the job. The runtime reads it when it sees the signal
// (or finds the file while polling). Content, one JSON object:
//   {"deadline_unix": 1795338826.25, "grace_seconds": 30.0,
//    "reason": "SIGTERM to lull run", "issued_unix": 1795338796.25}
// The deadline is wall-clock (system_clock) seconds since the epoch: the
// moment after which the job may be killed.

#include <filesystem>
#include <optional>
#include <string>

namespace lull {

inline constexpr const char* kNoticeFileEnv = "LULL_NOTICE_FILE";

struct PreemptionNotice {
  double deadline_unix = 0;  // seconds since the epoch
  double grace_seconds = 0;
  double issued_unix = 0;
  std::string reason;
};

// Now on the clock notices are written in: system_clock seconds since the epoch.
double unix_time_now() noexcept;

// Writes `notice` to `path` atomically, mode 0600. Throws lull::Error.
void write_notice_file(const std::filesystem::path& path, const PreemptionNotice& notice);

// Reads the notice at `path`: nullopt when there is no file; throws
// Error(invalid_argument) naming the file and field when it is malformed.
std::optional<PreemptionNotice> read_notice_file(const std::filesystem::path& path);

}  // namespace lull
