#pragma once
// The exit codes of the `lull` command (the README's "Exit codes" table).

namespace lull::cli {

inline constexpr int kExitOk = 0;       // done; for verify: every snapshot checked is valid
inline constexpr int kExitFailure = 1;  // the command ran and failed (invalid snapshot, I/O, ...)
inline constexpr int kExitUsage = 2;    // the command line itself was wrong

}  // namespace lull::cli
