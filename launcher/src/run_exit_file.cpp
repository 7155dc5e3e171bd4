#include "run_exit_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "lull/base/bounded_text.h"
#include "lull/base/errno_error.h"
#include "lull/base/error.h"

namespace lull::cli {

namespace {

constexpr off_t kMaxExitFileBytes = 64 * 1024;
constexpr std::size_t kMaxMeaningBytes = 512;

}  // namespace

void write_exit_file(const std::filesystem::path& path, const RunExit& outcome) {
  const nlohmann::json content = {{"exit_code", outcome.exit_code}, {"meaning", outcome.meaning}};
  write_file_atomically(path, content.dump() + "\n", 0644);
}

std::optional<RunExit> read_exit_file(const std::filesystem::path& path, std::optional<unsigned> owner) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) return std::nullopt;
  if (fd < 0) throw_errno("open", path.string());
  std::string text;
  try {
    struct stat info {};
    if (::fstat(fd, &info) != 0) throw_errno("fstat", path.string());
    if (!S_ISREG(info.st_mode) || info.st_size > kMaxExitFileBytes || (owner && info.st_uid != *owner)) {
      throw Error(ErrorCode::corrupt, "not an exit file of lull run: " + path.string(), {},
                  "not a small regular file of the job's owner");
    }
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("read", path.string());
      if (n == 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  const nlohmann::json content = nlohmann::json::parse(text, nullptr, false);
  // The job's owner can write this file: its exit code is checked, its meaning bounded.
  const bool code_ok = content.is_object() && content.contains("exit_code") && content["exit_code"].is_number_integer() &&
                       content["exit_code"].get<std::int64_t>() >= 0 && content["exit_code"].get<std::int64_t>() <= 255;
  if (!code_ok) {
    throw Error(ErrorCode::corrupt, "not an exit file of lull run: " + path.string(), {}, "no exit_code from 0 to 255");
  }
  RunExit outcome;
  outcome.exit_code = content["exit_code"].get<int>();
  if (content.contains("meaning") && content["meaning"].is_string()) {
    outcome.meaning = bounded_text(content["meaning"].get<std::string>(), kMaxMeaningBytes);
  }
  return outcome;
}

}  // namespace lull::cli
