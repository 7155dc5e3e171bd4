#pragma once
// What `lull run` tells the ranks of a job: the environment contract.
//
// COMMAND inherits lull run's own environment with these variables set
// (replacing inherited values):
//   LULL_JOB             the job name (validated like every lull name)
//   LULL_CKPT_DIR        the snapshot directory, absolute (only with --ckpt-dir
//                        or an inherited LULL_CKPT_DIR)
//   LULL_GRACE_SECONDS   the grace period: the runtime's deadline for a
//                        notice signal that comes without a notice file
//   LULL_EVERY_STEPS     periodic checkpoint every N steps (only when given)
//   LULL_EVERY_SECONDS   periodic checkpoint every S seconds, or "auto" (the
//                        runtime's Young/Daly interval), only when given
//   LULL_NOTICE_FILE     where the preemption notice will appear (notice_file.h);
//                        the file does not exist until lull run is signalled
//   LULL_NOTICE_SIGNALS  "USR1,TERM" with --notice-signal TERM, so that the
//                        ranks take a forwarded SIGTERM as the notice (unless
//                        the inherited environment sets it)
// The runtime reads them in RuntimeOptions::from_environment().
//
// mpirun hands its environment to the ranks it starts on the local node. Ranks
// on other nodes get only what is exported with -x, so a multi-node launch is
//   lull run ... -- mpirun -x LULL_JOB -x LULL_CKPT_DIR -x LULL_GRACE_SECONDS
//                          -x LULL_NOTICE_FILE [-x LULL_EVERY_STEPS ...] ...
// (or `-x 'LULL_*'`), and the snapshot directory, which holds the notice file,
// must be on a file system every node sees.

#include <signal.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lull::run {

inline constexpr double kDefaultGraceSeconds = 30;     // the runtime's default too
inline constexpr double kDefaultKillAfterSeconds = 5;  // SIGTERM -> SIGKILL
inline constexpr int kDefaultNoticeSignal = SIGUSR1;   // mpirun forwards it to every rank

struct RunSettings {
  std::string job;                                // validated
  std::optional<std::filesystem::path> ckpt_dir;  // absolute, exists, not world-writable
  double grace_seconds = kDefaultGraceSeconds;
  double kill_after_seconds = kDefaultKillAfterSeconds;
  std::optional<std::uint64_t> every_steps;
  std::optional<std::string> every_seconds;       // as parse_every_seconds gives it
  int notice_signal = kDefaultNoticeSignal;       // after the notice file; 0: none
};

// --notice-signal's value: "USR1" or "TERM" (any case, with or without
// "SIG") as the signal number, "none" as 0. Throws
// lull::Error(invalid_argument) naming the accepted values.
int parse_notice_signal(std::string_view text);

// --every-seconds's value as LULL_EVERY_SECONDS carries it: a number of
// seconds >= 0 ("2.5"), or "auto". Throws lull::Error(invalid_argument)
// saying what it takes.
std::string parse_every_seconds(std::string_view text);

// The job name used when none is given: the last component of the snapshot
// directory when that is a valid name ("/ckpt/resnet/" -> "resnet"), else
// "job" (the runtime's default).
std::string default_job_name(const std::optional<std::filesystem::path>& ckpt_dir);

// Validates settings.job, makes settings.ckpt_dir absolute and creates it
// (mode 0700, parents too) when missing. Throws lull::Error(invalid_argument)
// for a bad job name or a world-writable / non-directory snapshot directory,
// and the errno mapper's Error when the directory cannot be created.
void prepare_run_settings(RunSettings& settings);

// The complete environment of COMMAND ("NAME=value" strings): `inherited`
// (a null-terminated array like `environ`) with the variables above set.
// Pure; the notice file need not exist.
std::vector<std::string> child_environment(const RunSettings& settings,
                                           const std::filesystem::path& notice_file,
                                           const char* const* inherited);

// Seconds as the environment carries them: shortest exact decimal ("30", "2.5").
std::string format_seconds(double seconds);

}  // namespace lull::run
