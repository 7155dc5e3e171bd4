#include "run/notice_signal.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "lull/base/errno_error.h"
#include "lull/base/log.h"
#include "lull/base/notice_file.h"
#include "posix/process_tree.h"

namespace lull::run {

namespace {

// How often a held signal looks at the job again.
constexpr std::chrono::milliseconds kLookInterval{50};

struct JobLook {
  std::size_t children = 0;     // COMMAND's live children
  std::optional<pid_t> exposed;  // a process SIGUSR1 would kill: COMMAND or one of its children
};

JobLook look_at(pid_t command) {
  JobLook look;
  if (posix::takes_default_action(command, SIGUSR1)) look.exposed = command;
  for (const posix::ProcessInfo& process : posix::live_descendants(command)) {
    if (process.parent != command) continue;
    ++look.children;
    if (!look.exposed && posix::takes_default_action(process.pid, SIGUSR1)) look.exposed = process.pid;
  }
  return look;
}

}  // namespace

NoticeSignal::NoticeSignal(pid_t command, std::filesystem::path notice_file, Clock::time_point due)
    : command_(command), notice_file_(std::move(notice_file)), due_(due) {}

std::optional<NoticeSignal::Clock::time_point> NoticeSignal::tend() {
  const JobLook look = look_at(command_);
  if (look.children < most_children_) {
    log::info("a process of pid " + std::to_string(command_) +
              " has ended since the notice: the job is stopping, no SIGUSR1 sent");
    return std::nullopt;
  }
  most_children_ = look.children;
  const Clock::time_point now = Clock::now();
  if (now < due_) return std::min(now + kLookInterval, due_);
  const NoticeAcknowledgements taken = read_notice_acknowledgements(notice_file_);
  if (taken.from_every_rank()) {
    log::info("every rank (" + std::to_string(taken.world_size) +
              ") has taken the notice from the file: no SIGUSR1 sent");
    return std::nullopt;
  }
  if (look.exposed) {
    if (!held_logged_) {
      held_logged_ = true;
      log::info("SIGUSR1 held: pid " + std::to_string(*look.exposed) +
                " has no handler for it now (it would die of it); the notice file carries the notice");
    }
    return now + kLookInterval;
  }
  if (::kill(command_, SIGUSR1) == 0) {
    sent_ = true;
  } else if (errno != ESRCH) {
    log::error(errno_error(errno, "kill", "pid " + std::to_string(command_)).what());
  }
  return std::nullopt;
}

}  // namespace lull::run
