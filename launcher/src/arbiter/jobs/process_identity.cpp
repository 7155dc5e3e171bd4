#include "process_identity.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

namespace lull::arbiter {

namespace {

std::optional<std::string> read_small_file(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > (1u << 20)) break;
  }
  return text;
}

}  // namespace

std::optional<std::uint64_t> process_start_ticks(pid_t pid) noexcept {
  try {
    const auto stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return std::nullopt;
    // "pid (comm) state ppid ...": comm may hold anything, so count fields after the last ')'.
    const std::size_t comm_end = stat->rfind(')');
    if (comm_end == std::string::npos || comm_end + 2 >= stat->size()) return std::nullopt;
    std::string_view rest(stat->data() + comm_end + 2, stat->size() - comm_end - 2);
    if (rest.front() == 'Z' || rest.front() == 'X') return std::nullopt;
    // Field 3 (state) is rest's first word; field 22 (starttime) its 20th.
    for (int field = 3; field < 22; ++field) {
      const std::size_t space = rest.find(' ');
      if (space == std::string_view::npos) return std::nullopt;
      rest.remove_prefix(space + 1);
    }
    std::uint64_t ticks = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ticks);
    if (ec != std::errc()) return std::nullopt;
    return ticks;
  } catch (...) {
    return std::nullopt;
  }
}

UniqueFd open_pidfd(pid_t pid) noexcept {
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

std::optional<pid_t> find_process_with_argument(const std::string& argument) noexcept {
  try {
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return std::nullopt;
    std::optional<pid_t> found;
    while (const dirent* entry = ::readdir(proc)) {
      pid_t pid = 0;
      const std::string_view name(entry->d_name);
      const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
      if (ec != std::errc() || end != name.data() + name.size()) continue;
      const auto cmdline = read_small_file("/proc/" + std::string(name) + "/cmdline");
      if (!cmdline) continue;
      std::string_view words(*cmdline);
      while (!words.empty()) {
        const std::size_t nul = words.find('\0');
        if (words.substr(0, nul) == argument) {
          found = pid;
          break;
        }
        if (nul == std::string_view::npos) break;
        words.remove_prefix(nul + 1);
      }
      if (found && process_start_ticks(*found)) break;
      found.reset();
    }
    ::closedir(proc);
    return found;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace lull::arbiter
