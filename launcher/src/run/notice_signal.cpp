#include "run/notice_signal.h"

#include <signal.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "lull/base/errno_error.h"
#include "lull/base/log.h"
#include "lull/base/notice_file.h"
#include "posix/process_tree.h"
#include "posix/signal_name.h"

namespace lull::run {

namespace {

// How often a held signal looks at the job again.
constexpr std::chrono::milliseconds kLookInterval{50};

struct JobLook {
  std::size_t children = 0;      // COMMAND's live children
  std::optional<pid_t> exposed;  // a process the signal would kill: COMMAND or one below it
};

JobLook look_at(pid_t command, int signal) {
  JobLook look;
  if (posix::takes_default_action(command, signal)) look.exposed = command;
  for (const posix::ProcessInfo& process : posix::live_descendants(command)) {
    if (process.parent == command) ++look.children;
    if (!look.exposed && posix::takes_default_action(process.pid, signal)) look.exposed = process.pid;
  }
  return look;
}

}  // namespace

NoticeSignal::NoticeSignal(pid_t command, std::filesystem::path notice_file, int signal)
    : command_(command), notice_file_(std::move(notice_file)), signal_(signal) {}

void NoticeSignal::log_hold_once(const std::string& why) {
  if (why == last_hold_) return;
  last_hold_ = why;
  log::info(posix::signal_name(signal_) + " held: " + why + "; the notice file carries the notice");
}

std::optional<NoticeSignal::Clock::time_point> NoticeSignal::tend() {
  const std::string name = posix::signal_name(signal_);
  const JobLook look = look_at(command_, signal_);
  if (look.children < most_children_) {
    log::info("a process of pid " + std::to_string(command_) + " has ended since the notice: the job is stopping, no " +
              name + " sent");
    return std::nullopt;
  }
  most_children_ = look.children;
  const NoticeAcknowledgements taken = read_notice_acknowledgements(notice_file_);
  if (taken.from_every_rank()) {
    log::info("every rank (" + std::to_string(taken.world_size) + ") has taken the notice from the file: no " + name +
              " sent");
    return std::nullopt;
  }
  const Clock::time_point again = Clock::now() + kLookInterval;
  const NoticeReadiness ready = read_notice_readiness(notice_file_);
  if (!ready.from_every_rank()) {
    log_hold_once(ready.world_size == 0
                      ? "no rank has marked itself ready for it yet (still starting)"
                      : std::to_string(ready.ranks) + " of " + std::to_string(ready.world_size) +
                            " rank(s) ready for it");
    return again;
  }
  if (look.exposed) {
    log_hold_once("pid " + std::to_string(*look.exposed) + " has no handler for it now (it would die of it)");
    return again;
  }
  if (::kill(command_, signal_) == 0) {
    sent_ = true;
    log::info(name + " sent to pid " + std::to_string(command_) + ": every rank (" +
              std::to_string(ready.world_size) + ") is ready for it");
  } else if (errno != ESRCH) {
    log::error(errno_error(errno, "kill", "pid " + std::to_string(command_)).what());
  }
  return std::nullopt;
}

}  // namespace lull::run
