#include "lull/base/notice_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lull/base/errno_error.h"
#include "lull/base/error.h"

namespace lull {

double unix_time_now() noexcept {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void write_notice_file(const std::filesystem::path& path, const PreemptionNotice& notice) {
  nlohmann::json doc = {{"deadline_unix", notice.deadline_unix},
                        {"grace_seconds", notice.grace_seconds},
                        {"issued_unix", notice.issued_unix},
                        {"reason", notice.reason}};
  const std::string text = doc.dump() + "\n";
  auto partial = path;
  partial += ".partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("open", partial.string());
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw errno_error(err, "write", partial.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    throw errno_error(err, "fsync", partial.string());
  }
  ::close(fd);
  if (::rename(partial.c_str(), path.c_str()) != 0) throw_errno("rename", partial.string() + " -> " + path.string());
}

std::optional<PreemptionNotice> read_notice_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto bad = [&](const std::string& what) {
    return Error(ErrorCode::invalid_argument, "notice file " + path.string() + ": " + what);
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw bad(std::string("malformed JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) throw bad("not a JSON object");
  auto number = [&](const char* key, bool required) -> double {
    auto it = doc.find(key);
    if (it == doc.end()) {
      if (required) throw bad(std::string("field \"") + key + "\" is missing");
      return 0;
    }
    if (!it->is_number()) throw bad(std::string("field \"") + key + "\" is not a number");
    return it->get<double>();
  };
  PreemptionNotice notice;
  notice.deadline_unix = number("deadline_unix", true);
  notice.grace_seconds = number("grace_seconds", false);
  notice.issued_unix = number("issued_unix", false);
  if (auto it = doc.find("reason"); it != doc.end() && it->is_string()) notice.reason = it->get<std::string>();
  return notice;
}

}  // namespace lull
