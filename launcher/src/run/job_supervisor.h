#pragma once
// JobSupervisor — runs COMMAND and turns the scheduler's signals into a
// clean, deadline-bounded stop.
//
// Signals lull run handles (all read from a SignalInbox in one poll loop; no
// signal handlers):
//   SIGTERM, SIGINT, SIGHUP  a preemption request. The first one writes the
//       notice file (deadline = now + grace) and only THEN sends the notice
//       signal (`notice_signal`: SIGUSR1, which mpirun forwards to every
//       rank; SIGTERM for a launcher such as torchrun that forwards that
//       one; or none) to COMMAND's process — once every rank is ready for
//       it, and never when it is not needed or would kill part of the job
//       (notice_signal.h); the file carries the notice meanwhile. (A raw
//       SIGTERM to mpirun would make Open MPI kill the ranks ~2 s later, so
//       mpirun gets none before the grace period is spent.) The second is
//       logged and changes nothing. The third stops the job now: escalation
//       starts at once instead of at the deadline. SIGHUP is not read when
//       lull run was started with it ignored (nohup).
//   SIGUSR1, SIGUSR2  forwarded as they are to COMMAND's process (a notice
//       sent to lull run by hand reaches the ranks the usual way; no notice
//       file is written, the runtime then uses LULL_GRACE_SECONDS).
//   SIGCHLD  reaps COMMAND and any orphaned process of the job.
// COMMAND is expected to be mpirun, a launcher that forwards the notice
// signal, or the program itself: a shell script in between must `exec` it
// (or trap the signal), since the signal goes to COMMAND's process alone.
//
// Escalation, when COMMAND is still running at the deadline (or after the
// third request): SIGTERM to COMMAND's process group and to every live
// descendant of lull run (ranks live in process groups of their own), then,
// kill_after later, SIGKILL to all of them. lull run is a child subreaper,
// so ranks orphaned by a dead mpirun remain its descendants.
//
// No process of the job outlives lull run: when COMMAND ends and some of
// its descendants are still running, they get SIGTERM, then SIGKILL after
// kill_after, and are reaped.
//
// One supervisor per process (it reaps every child of the process while
// run() is active). Not thread-safe.

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lull/base/notice_file.h"
#include "posix/signal_inbox.h"
#include "run/job_process.h"

namespace lull::run {

struct SupervisorSettings {
  JobLaunch launch;
  std::filesystem::path notice_file;  // written on the first preemption request
  double grace_seconds = 30;          // notice -> escalation
  double kill_after_seconds = 5;      // SIGTERM -> SIGKILL
  int notice_signal = SIGUSR1;        // sent to COMMAND after the notice file; 0: none
};

struct SupervisorOutcome {
  int exec_error = 0;             // COMMAND could not be started (errno); nothing else is set
  int wait_status = 0;            // COMMAND's raw wait status
  bool notice_sent = false;       // a preemption request arrived while COMMAND ran
  bool escalated = false;         // COMMAND got SIGTERM/SIGKILL from lull run
  bool notice_signalled = false;  // lull run sent the notice signal to COMMAND
  int notice_signal = SIGUSR1;    // which one (SupervisorSettings::notice_signal; 0: none)
  NoticeAcknowledgements notice_taken;  // the ranks' acknowledgements, once COMMAND ended
};

// The signal state run() needs: SIGTERM, SIGINT, SIGHUP (unless ignored on
// entry), SIGUSR1, SIGUSR2 and SIGCHLD read from an inbox. Open it before
// run() and keep it until lull run has said how the job ended: a request
// arriving after it is gone would get the default action and kill lull run
// with the wrong exit code. Throws lull::Error.
std::unique_ptr<posix::SignalInbox> open_supervisor_inbox();

class JobSupervisor {
 public:
  explicit JobSupervisor(SupervisorSettings settings);

  // Starts COMMAND, supervises it until it has ended and no process of the
  // job is left, and says how it ended. `inbox` comes from
  // open_supervisor_inbox(). Logs one line per event (started, notice,
  // escalation). Throws lull::Error when lull run itself cannot work (fork,
  // /proc, poll); every process of the job is killed before the throw leaves.
  SupervisorOutcome run(posix::SignalInbox& inbox);

 private:
  SupervisorSettings settings_;
};

}  // namespace lull::run
