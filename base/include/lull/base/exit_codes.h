#pragma once
// Every exit code lull gives or reads, in one table (docs/lull-run.md, "Exit codes").
// The C API's LULL_EXIT_* (lull.h) are the same numbers; c_api.cpp checks it.

namespace lull {

// A training program (the runtime's exit_code()) and `lull run`, which passes
// its job's code on: 0 finished; 75 (EX_TEMPFAIL of sysexits.h) stopped for
// preemption and resumable from a committed snapshot; anything else failed.
inline constexpr int kExitFinished = 0;
inline constexpr int kExitPreempted = 75;
// A failure: the final snapshot (finish()), or a preemption snapshot with no
// earlier snapshot to fall back on, could not be committed (a full disk, an
// I/O error). The job's log says what failed and what a rerun does.
// EX_IOERR of sysexits.h.
inline constexpr int kExitSnapshotFailed = 74;
// A collective stayed pending past its timeout: the rank logs which one and
// exits with this code (EX_SOFTWARE), so a hung peer never hangs the job.
inline constexpr int kExitCollectiveTimeout = 70;

// `lull run` when COMMAND could not be started, as a shell reports it.
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitCommandNotFound = 127;
// A process killed by a signal, reported the shell's way: 128 + the signal.
inline constexpr int kExitSignalBase = 128;
inline constexpr int kExitKilled = kExitSignalBase + 9;  // SIGKILL

// The `lull` command's own subcommands (all but `run`, which ends with its
// job's code): 0 done (for verify: every snapshot checked is valid), 1 the
// command ran and failed (the reason is on stderr), 2 the command line was wrong.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace lull
