#pragma once
// spawn_process() — fork and exec one program, knowing for certain whether
// it started.
//
// Whatever fails in the child between fork and exec (a redirection, the
// user it becomes, its working directory, exec itself) comes back through a
// close-on-exec pipe as the step and its errno: the pipe reads EOF when exec
// succeeded, the failure otherwise. Everything the request asks for is
// prepared before fork, and the child makes only async-signal-safe calls
// and never allocates, so a process with threads (an MPI library's, spdlog's)
// may spawn.
//
// What the child does, in this order, each only if the request asks:
//   1. leads a new process group (setpgid, in the parent too, so it is in
//      place whichever runs first) or a new session (setsid);
//   2. asks for a signal when the parent dies (PR_SET_PDEATHSIG); if the
//      parent died before that took effect, the child exits 127 at once;
//   3. takes stdin, stdout and stderr from /dev/null or from the caller's
//      descriptors (dup2, so they lose close-on-exec);
//   4. gets its signal dispositions, then its signal mask;
//   5. becomes another user (setgroups, setgid, setuid);
//   6. changes to its working directory;
//   7. execs argv[0] (execve, or execvpe searching PATH as a shell would).

#include <signal.h>
#include <sys/types.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "lull/base/unique_fd.h"

namespace lull {

// The signal state a child starts its program with.
struct ChildSignals {
  struct Disposition {
    int number = 0;
    struct sigaction action {};
  };
  std::vector<Disposition> dispositions;  // set first
  sigset_t mask{};                        // then this mask

  // SIG_DFL for each of `numbers`, nothing blocked.
  static ChildSignals defaults(std::initializer_list<int> numbers);
};

// Where one of the child's standard streams comes from.
struct ChildStream {
  enum class Kind { inherited, dev_null, descriptor };
  Kind kind = Kind::inherited;
  int fd = -1;  // for descriptor: the caller's, which stays the caller's to close

  static ChildStream inherited() { return {}; }
  static ChildStream dev_null() { return {Kind::dev_null, -1}; }
  // `fd` must not be another of the standard streams (0, 1, 2) than the
  // one it replaces: those are replaced in order.
  static ChildStream descriptor(int fd) { return {Kind::descriptor, fd}; }
};

// The user the child becomes.
struct ChildIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // its supplementary groups
};

struct SpawnRequest {
  enum class Group { inherited, new_group, new_session };

  std::vector<std::string> argv;  // not empty; argv[0] is the program
  bool search_path = false;       // argv[0] looked up in PATH (else a path, as execve takes it)
  // The complete environment ("NAME=value"); none: this process's.
  std::optional<std::vector<std::string>> environment;
  Group group = Group::inherited;
  int parent_death_signal = 0;  // 0: none
  ChildStream in, out, err;
  std::optional<ChildSignals> signals;    // none: as this process has them (minus pending ones)
  std::optional<ChildIdentity> identity;  // none: this process's user
  std::string working_directory;          // empty: this process's
  std::string description;                // names the child in errors; argv[0] when empty
};

// What failed in the child, and its errno.
struct SpawnFailure {
  enum class Step : int { process_group = 1, stream, identity, working_directory, exec };
  Step step = Step::exec;
  int error = 0;
};

struct SpawnResult {
  pid_t pid = -1;        // the running child's; -1 when it failed before its program ran
  SpawnFailure failure;  // what failed, when pid is -1 (that child has been reaped)

  bool started() const noexcept { return pid > 0; }
};

// Starts the child as `request` says and returns once its program runs (exec
// succeeded) or it failed before. Throws the errno mapper's Error when the pipe or fork
// fails; a failure in the child is a result, not an exception, so the
// caller can say it in its own terms. A started child is the caller's to
// reap.
// May be called from any thread: it changes nothing in this process.
SpawnResult spawn_process(const SpawnRequest& request);

// A pipe, both ends close-on-exec (a child gets an end as a ChildStream).
// Throws the errno mapper's Error, naming `what` the pipe is for.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
Pipe make_pipe(const std::string& what);

// This process's environment with `overrides` ("NAME=value") replacing or
// adding entries of the same name.
std::vector<std::string> environment_with(const std::vector<std::string>& overrides);

}  // namespace lull
