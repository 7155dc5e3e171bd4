#pragma once
// The processes of a job, found through /proc (Linux).
//
// A job's processes are not all in one process group: Open MPI's mpirun puts
// every rank it starts in a process group of its own, so signalling
// mpirun's group reaches mpirun alone. What they do share is ancestry:
// `lull run` is a child subreaper (PR_SET_CHILD_SUBREAPER), so a process of
// the job whose parent dies is re-parented to lull run instead of init, and
// stays its descendant until it is reaped.

#include <sys/types.h>

#include <vector>

namespace lull::posix {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t group = 0;   // process group id
  pid_t parent = 0;  // parent process id
};

// The live (not zombie) descendants of `root`, at any depth. A snapshot:
// processes start and end while it is taken. Throws the errno mapper's Error
// when /proc cannot be read.
std::vector<ProcessInfo> live_descendants(pid_t root);

// Sends `signal` to each process of `processes` that is not in process group
// `except_group` (0: none excepted); ones already gone are skipped. Returns
// how many were signalled. Other failures are logged, never thrown.
int signal_each(const std::vector<ProcessInfo>& processes, int signal, pid_t except_group = 0);

// True while process group `pgid` has a member (zombies count until reaped).
bool process_group_exists(pid_t pgid);

// True when `signal` would take its default action in process `pid`: it
// neither has a handler installed for it nor ignores it (the SigCgt and
// SigIgn masks of /proc/<pid>/status). False when the process is gone. A
// snapshot: the process may change its disposition right after.
bool takes_default_action(pid_t pid, int signal);

}  // namespace lull::posix
