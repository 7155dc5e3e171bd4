#include "run/job_process.h"

#include <signal.h>
#include <unistd.h>

#include "lull/base/process_spawn.h"

namespace lull::run {

StartedJob start_job(const JobLaunch& launch, const posix::SignalInbox& inbox) {
  SpawnRequest request;
  request.argv = launch.command;
  request.search_path = true;
  request.environment = launch.environment;
  request.group = SpawnRequest::Group::new_group;
  request.parent_death_signal = SIGTERM;
  if (::isatty(STDIN_FILENO) == 1) request.in = ChildStream::dev_null();
  request.signals = inbox.child_signals();
  const SpawnResult spawned = spawn_process(request);
  if (!spawned.started()) return {-1, spawned.failure.error};
  return {spawned.pid, 0};
}

}  // namespace lull::run
