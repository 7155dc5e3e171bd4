#pragma once
// Starting COMMAND: fork, a process group of its own, exec.
//
// The child:
//   - leads a new process group (setpgid in both parent and child, so it is
//     in place whoever runs first): a terminal's Ctrl-C reaches lull run
//     alone, which turns it into a notice, and escalation can signal the
//     group as a whole;
//   - gets SIGTERM if lull run dies (PR_SET_PDEATHSIG), so a supervisor killed
//     with SIGKILL does not leave the job running unsupervised (mpirun then
//     takes its ranks down);
//   - gets /dev/null as stdin when lull run's stdin is a terminal: a process
//     outside the terminal's foreground group that reads it is stopped
//     (SIGTTIN), and mpirun reads stdin to forward it to rank 0;
//   - gets lull run's original signal mask and dispositions back
//     (SignalInbox::child_signals), then execvpe(command[0], command, env)
//     with PATH searched as a shell would.
// spawn_process (lull/base/process_spawn.h) does it, so the caller knows for
// certain whether COMMAND started.

#include <sys/types.h>

#include <string>
#include <vector>

#include "posix/signal_inbox.h"

namespace lull::run {

struct JobLaunch {
  std::vector<std::string> command;      // argv; command[0] looked up in PATH
  std::vector<std::string> environment;  // the complete environment, "NAME=value"
};

struct StartedJob {
  pid_t pid = -1;      // also the process group id; -1 when exec failed
  int exec_error = 0;  // errno of the failed exec, or of a step before it (the child has been reaped)
};

// Precondition: command is not empty. Throws the errno mapper's Error when
// fork or the pipe fails; an exec failure is a result, not an exception.
StartedJob start_job(const JobLaunch& launch, const posix::SignalInbox& inbox);

}  // namespace lull::run
