#include "posix/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lull/base/errno_error.h"
#include "lull/base/log.h"
#include "lull/base/unique_fd.h"

namespace lull::posix {

namespace {

struct ProcessEntry {
  ProcessInfo info;
  pid_t parent = 0;
  bool zombie = false;
};

std::optional<pid_t> parse_pid(std::string_view text) {
  pid_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

// /proc/<pid>/stat is "pid (comm) state ppid ...", where comm may hold spaces
// and parentheses: the fields after the last ')' are the reliable ones.
std::optional<ProcessEntry> read_entry(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;  // gone meanwhile
  char buffer[4096];
  ssize_t n = 0;
  do {
    n = ::read(fd.get(), buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;  // gone meanwhile
  const std::string_view line(buffer, static_cast<std::size_t>(n));
  const std::size_t comm_end = line.rfind(')');
  if (comm_end == std::string::npos || comm_end + 4 >= line.size()) return std::nullopt;
  // After ')': " <state> <ppid> <pgrp> ..."
  const char state = line[comm_end + 2];
  std::string_view rest = line.substr(comm_end + 4);
  const std::size_t ppid_end = rest.find(' ');
  if (ppid_end == std::string_view::npos) return std::nullopt;
  const std::size_t pgrp_end = rest.find(' ', ppid_end + 1);
  const auto parent = parse_pid(rest.substr(0, ppid_end));
  const auto group = parse_pid(rest.substr(ppid_end + 1, pgrp_end - ppid_end - 1));
  return ProcessEntry{{pid, group.value_or(0), parent.value_or(0)}, parent.value_or(0), state == 'Z' || state == 'X'};
}

}  // namespace

std::vector<ProcessInfo> live_descendants(pid_t root) {
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), &::closedir);
  if (!proc) throw_errno("opendir", "/proc");
  std::multimap<pid_t, ProcessEntry> children;  // parent -> child
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(proc.get());
    if (entry == nullptr) {
      if (errno != 0) throw_errno("readdir", "/proc");
      break;
    }
    auto pid = parse_pid(entry->d_name);
    if (!pid) continue;
    if (auto process = read_entry(*pid)) children.emplace(process->parent, *process);
  }
  std::vector<ProcessInfo> found;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    auto [first, last] = children.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      frontier.push_back(it->second.info.pid);  // a zombie's children are re-parented, but look anyway
      if (!it->second.zombie) found.push_back(it->second.info);
    }
  }
  return found;
}

int signal_each(const std::vector<ProcessInfo>& processes, int signal, pid_t except_group) {
  int sent = 0;
  for (const ProcessInfo& process : processes) {
    if (except_group != 0 && process.group == except_group) continue;
    const pid_t pid = process.pid;
    if (::kill(pid, signal) == 0) {
      ++sent;
    } else if (errno != ESRCH) {
      log::warn(errno_error(errno, "kill", "pid " + std::to_string(pid)).what());
    }
  }
  return sent;
}

bool process_group_exists(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

namespace {

// The hexadecimal mask after `key` ("\nSigCgt:\t") in /proc/<pid>/status.
std::optional<std::uint64_t> signal_mask(std::string_view status, std::string_view key) {
  const std::size_t at = status.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = status.substr(at + key.size());
  std::uint64_t mask = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), mask, 16);
  if (ec != std::errc() || end == rest.data()) return std::nullopt;
  return mask;
}

}  // namespace

bool takes_default_action(pid_t pid, int signal) {
  if (signal < 1 || signal > 64) return false;
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;  // gone
  std::string status;
  char buffer[4096];
  for (ssize_t n = 0; status.size() < 64 * 1024;) {  // status is ~1.5 KiB
    n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    status.append(buffer, static_cast<std::size_t>(n));
  }
  // Bit N-1 of each mask is signal N. Unreadable masks: a process on its
  // way out (or not ours): as if nothing handled it.
  const std::uint64_t bit = std::uint64_t{1} << (signal - 1);
  const std::uint64_t handled = signal_mask(status, "\nSigCgt:\t").value_or(0);
  const std::uint64_t ignored = signal_mask(status, "\nSigIgn:\t").value_or(0);
  return ((handled | ignored) & bit) == 0;
}

}  // namespace lull::posix
